import { createHash, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { ProofKey } from './proof-key.js';

export interface ProofRequest {
  method: string;
  url: string;
  accessToken?: string;
  nonce?: string;
  /** Seconds since the epoch; now by default. */
  iat?: number;
}

/** RFC 9449 §4.2: htu is the target URI without query and fragment. */
export function proofTarget(url: string): string {
  const target = new URL(url);
  target.search = '';
  target.hash = '';
  return target.href;
}

/** RFC 9449 §4.2: ath is base64url(SHA-256(access token)). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url');
}

/** One DPoP proof JWT (RFC 9449 §4.2), signed with jose. */
export function makeProof(key: ProofKey, request: ProofRequest): Promise<string> {
  return new SignJWT({
    jti: randomUUID(),
    htm: request.method.toUpperCase(),
    htu: proofTarget(request.url),
    iat: request.iat ?? Math.floor(Date.now() / 1000),
    ...(request.accessToken !== undefined ? { ath: accessTokenHash(request.accessToken) } : {}),
    ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk })
    .sign(key.privateKey);
}
