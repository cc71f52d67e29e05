import { hash } from 'node:crypto';
import type { JWK } from 'jose';

/**
 * RFC 7638 §3 required members per key type, in lexicographic order (RFC 8037 §2 for OKP).
 * Computed with node:crypto on the hot path: jose's calculateJwkThumbprint goes through
 * WebCrypto's async digest, about 50 times slower per call here; the RFC 7638 and RFC 9449
 * vectors pin this implementation (test/unit/jwk-thumbprint.test.ts).
 */
const requiredMembers: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
  oct: ['k', 'kty'],
};

/** RFC 7638 SHA-256 JWK thumbprint, base64url: the `jkt` of `cnf` (RFC 9449 §6.1) and of `dpop_jkt` (§10). */
export function jwkThumbprint(jwk: JWK): string {
  const members = typeof jwk.kty === 'string' && Object.hasOwn(requiredMembers, jwk.kty) ? requiredMembers[jwk.kty] : undefined;
  if (!members) throw new TypeError('unsupported JWK key type');
  const canonical: Record<string, string> = {};
  for (const member of members) {
    const value = (jwk as Record<string, unknown>)[member];
    if (typeof value !== 'string' || value.length === 0) throw new TypeError(`JWK member ${member} is missing`);
    canonical[member] = value;
  }
  // JSON.stringify keeps insertion order (lexicographic here) and adds no whitespace (§3.3).
  return hash('sha256', JSON.stringify(canonical), 'base64url');
}

/** RFC 9449 §4.2 `ath`: base64url of the SHA-256 of the ASCII access token. */
export function accessTokenHash(accessToken: string): string {
  return hash('sha256', Buffer.from(accessToken, 'ascii'), 'base64url');
}
