import { hash } from 'node:crypto';
import { randomBase64url } from '../lib/random.js';

/** Opaque credentials (codes, refresh tokens, session ids): random, and stored only as a hash. */
export function newOpaqueToken(bytes = 32): string {
  return randomBase64url(bytes);
}

export function hashOpaque(value: string): string {
  return hash('sha256', value, 'base64url');
}
