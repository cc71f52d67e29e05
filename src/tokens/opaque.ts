import { createHash, randomBytes } from 'node:crypto';

/** Opaque credentials (codes, refresh tokens, session ids): random, and stored only as a hash. */
export function newOpaqueToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function hashOpaque(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
