import { createCipheriv, createDecipheriv, hash } from 'node:crypto';
import { randomBuffer } from '../lib/random.js';

/**
 * Refresh tokens carry the id of their family (one per grant) and a secret: 16 bytes each,
 * 43 base64url characters, like every other opaque credential here. The family id lets a
 * retired token be recognised (reuse detection, RFC 9700 §4.14) without a record per retired
 * token; the 128-bit secret is what makes a token work (RFC 6749 §10.10: guessing ≤ 2^-128).
 */
const familyIdBytes = 16;
const secretBytes = 16;
const tokenPattern = /^[A-Za-z0-9_-]{43}$/;

/** The family id of a grant's refresh tokens: derived, so the code exchange and its retry find the same family. */
export function refreshFamilyId(grantId: string): string {
  return hash('sha256', `dpop-oidc refresh family\0${grantId}`, 'buffer').subarray(0, familyIdBytes).toString('base64url');
}

export function newRefreshToken(familyId: string): string {
  return Buffer.concat([Buffer.from(familyId, 'base64url'), randomBuffer(secretBytes)]).toString('base64url');
}

/** The family id a refresh token names, or undefined when it is not one of ours in its canonical form. */
export function refreshTokenFamily(token: string): string | undefined {
  if (!tokenPattern.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  // One spelling per token: a variant of the last character must not pass as another secret.
  if (bytes.length !== familyIdBytes + secretBytes || bytes.toString('base64url') !== token) return undefined;
  return bytes.subarray(0, familyIdBytes).toString('base64url');
}

/**
 * The key that seals a successor token for a retry: derived from the credential it replaces
 * (the previous refresh token, or the code), which the store never holds. The store keeps
 * SHA-256(credential) as its hash; this is another derivation, so a store dump opens nothing.
 */
function sealingKey(credential: string): Buffer {
  return hash('sha256', `dpop-oidc successor seal\0${credential}`, 'buffer');
}

/** AES-256-GCM of `token` under `credential`, bound to `context` (family id and generation). */
export function sealSuccessor(token: string, credential: string, context: string): string {
  // A fresh 96-bit IV per seal, from the CSPRNG pool (src/lib/random.ts).
  const iv = randomBuffer(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(credential), iv);
  cipher.setAAD(Buffer.from(context));
  const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

/** The sealed token, or undefined when `credential` (or `context`) is not the one it was sealed under. */
export function unsealSuccessor(sealed: string, credential: string, context: string): string | undefined {
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length < 29) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(credential), bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** What a sealed successor is bound to: its family and generation (a blob moved elsewhere does not open). */
export function sealContext(familyId: string, generation: number): string {
  return `${familyId}.${generation}`;
}
