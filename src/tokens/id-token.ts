import { hash } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import { signCompactJws } from './jws.js';
import type { SigningKeys } from './keys.js';

/** OIDC Core §3.1.3.6: at_hash is the left half of the hash of the access token, with the hash of the signing alg. */
export function halfHash(value: string, alg: string): string {
  const bits = alg === 'EdDSA' || alg === 'Ed25519' || alg.endsWith('512') ? 512 : alg.endsWith('384') ? 384 : 256;
  const digest = hash(`sha${bits}`, Buffer.from(value, 'ascii'), 'buffer');
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

export interface IdTokenInput {
  sub: string;
  clientId: string;
  nonce: string | undefined;
  authTime: number;
  accessToken: string;
  /** Claims about the user, when the ID token should carry them. */
  claims?: Record<string, unknown>;
}

/** An OpenID Connect ID token (OIDC Core §2): signed with the provider's current key. */
export async function issueIdToken(
  input: IdTokenInput,
  deps: { keys: SigningKeys; issuer: string; ttlSeconds: number; clock: Clock },
): Promise<string> {
  // One read of the active key: at_hash and the signature agree even across a key reload.
  const key = deps.keys.current;
  const iat = Math.floor(deps.clock() / 1000);
  const claims = {
    ...input.claims,
    iss: deps.issuer,
    sub: input.sub,
    aud: input.clientId,
    azp: input.clientId,
    iat,
    exp: iat + deps.ttlSeconds,
    auth_time: input.authTime,
    at_hash: halfHash(input.accessToken, key.alg),
    ...(input.nonce !== undefined ? { nonce: input.nonce } : {}),
  };
  return signCompactJws({ typ: 'JWT' }, claims, key);
}
