import { randomBytes } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { accessTokenHash } from '../../src/dpop/thumbprint.js';

export interface ProofKey {
  privateKey: CryptoKeyLike;
  publicJwk: JWK;
  alg: string;
  jkt: string;
}

type CryptoKeyLike = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export async function makeProofKey(alg = 'ES256'): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, alg, jkt: await calculateJwkThumbprint(publicJwk, 'sha256') };
}

export interface ProofOptions {
  htm?: string;
  htu: string;
  /** Seconds; fractional allowed. */
  iat: number;
  jti?: string;
  nonce?: string;
  accessToken?: string;
  ath?: string;
  typ?: string;
  alg?: string;
  jwk?: JWK | null;
  extraClaims?: Record<string, unknown>;
  omit?: string[];
}

/** Builds a DPoP proof; each option changes exactly one thing, so tests show what differs. */
export async function makeProof(key: ProofKey, options: ProofOptions): Promise<string> {
  const claims: Record<string, unknown> = {
    jti: options.jti ?? randomBytes(12).toString('base64url'),
    htm: options.htm ?? 'POST',
    htu: options.htu,
    iat: options.iat,
    ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
    ...(options.ath !== undefined
      ? { ath: options.ath }
      : options.accessToken !== undefined
        ? { ath: accessTokenHash(options.accessToken) }
        : {}),
    ...options.extraClaims,
  };
  for (const name of options.omit ?? []) delete claims[name];
  const header: Record<string, unknown> = { typ: options.typ ?? 'dpop+jwt', alg: options.alg ?? key.alg };
  if (options.jwk !== null) header.jwk = options.jwk ?? key.publicJwk;
  // SignJWT would insert iat itself only when asked; claims are passed through as they are.
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}
