import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

/** The proof algorithms the command can make keys for (the server's allow-list, `dpop.algs`). */
export const proofAlgorithms = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'EdDSA', 'Ed25519'] as const;
export type ProofAlgorithm = (typeof proofAlgorithms)[number];

export interface ProofKey {
  alg: ProofAlgorithm;
  privateKey: KeyObject;
  /** The public members only: what goes into the proof's `jwk` header (RFC 9449 §4.2). */
  publicJwk: JWK;
}

export class ProofKeyError extends Error {}

export function isProofAlgorithm(value: string): value is ProofAlgorithm {
  return (proofAlgorithms as readonly string[]).includes(value);
}

/** A fresh key pair for `alg`, its private JWK (with `alg`) ready for the key file. */
export async function generateProofKey(alg: ProofAlgorithm): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg.startsWith('RS') || alg.startsWith('PS') ? { modulusLength: 2048 } : {}),
  });
  return { ...(await exportJWK(privateKey)), alg };
}

/** Reads the key file, or creates it (mode 0600, never overwriting one that appeared meanwhile). */
export async function loadOrCreateProofKey(path: string, requestedAlg: ProofAlgorithm | undefined): Promise<ProofKey> {
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ProofKeyError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (text === undefined) {
    const jwk = await generateProofKey(requestedAlg ?? 'ES256');
    try {
      writeFileSync(path, `${JSON.stringify(jwk, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
      text = JSON.stringify(jwk);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new ProofKeyError(`cannot write ${path}: ${(error as Error).message}`);
      text = readFileSync(path, 'utf8');
    }
  }
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch {
    throw new ProofKeyError(`${path} is not JSON (a private JWK is expected)`);
  }
  return proofKeyFromJwk(jwk, requestedAlg, path);
}

/** A signing key and its public JWK from a private JWK (`source` names it in errors). */
export function proofKeyFromJwk(jwk: JWK, requestedAlg?: ProofAlgorithm, source = 'the key'): ProofKey {
  const path = source;
  if (typeof jwk !== 'object' || jwk === null || typeof jwk.d !== 'string') throw new ProofKeyError(`${path} is not a private JWK`);
  const alg = jwk.alg ?? defaultAlgorithm(jwk);
  if (alg === undefined || !isProofAlgorithm(alg))
    throw new ProofKeyError(`${path} has no usable alg (one of ${proofAlgorithms.join(', ')})`);
  if (requestedAlg !== undefined && requestedAlg !== alg) {
    throw new ProofKeyError(`${path} holds an ${alg} key, not ${requestedAlg}: use another --key file`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (error) {
    throw new ProofKeyError(`${path} is not a valid private JWK: ${(error as Error).message}`);
  }
  return { alg, privateKey, publicJwk: publicMembers(createPublicKey(privateKey).export({ format: 'jwk' }) as JWK) };
}

function defaultAlgorithm(jwk: JWK): string | undefined {
  if (jwk.kty === 'EC') return { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[jwk.crv ?? ''];
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  return undefined;
}

function publicMembers(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, value]) => value !== undefined)) as JWK;
}
