import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

/** RFC 7638 SHA-256 JWK thumbprint, base64url: the `jkt` of `cnf` (RFC 9449 §6.1) and of `dpop_jkt` (§10). */
export function jwkThumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, 'sha256');
}

/** RFC 9449 §4.2 `ath`: base64url of the SHA-256 of the ASCII access token. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}
