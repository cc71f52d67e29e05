import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { writeFileAtomic } from '../lib/atomic-file.js';
import { nodeSigningKey } from './jws.js';

/** The provider's signing keys: the first signs, all verify; only public parts are published. */
export interface SigningKey {
  kid: string;
  alg: string;
  /** The private key, for node:crypto, which signs the provider's tokens (src/tokens/jws.ts). */
  nodeKey: KeyObject;
  publicKey: KeyHandle;
  publicJwk: JWK;
}

type KeyHandle = Exclude<Awaited<ReturnType<typeof importJWK>>, Uint8Array>;

export interface SigningKeys {
  current: SigningKey;
  byKid: ReadonlyMap<string, SigningKey>;
  algorithms: readonly string[];
  /** The JWK set served at the jwks endpoint: public members with kid, alg and use. */
  publicJwks: { keys: JWK[] };
}

const publicMembers: Record<string, readonly string[]> = {
  EC: ['kty', 'crv', 'x', 'y'],
  RSA: ['kty', 'n', 'e'],
  OKP: ['kty', 'crv', 'x'],
};

function publicPart(jwk: JWK, kid: string, alg: string): JWK {
  const members = publicMembers[jwk.kty ?? ''];
  if (!members) throw new Error(`signing key ${kid}: unsupported kty ${String(jwk.kty)}`);
  const result: JWK = { kid, alg, use: 'sig' };
  for (const member of members) (result as Record<string, unknown>)[member] = (jwk as Record<string, unknown>)[member];
  return result;
}

/** Builds the key set from private JWKs; each needs `alg` (and gets a thumbprint `kid` if it has none). */
export async function signingKeysFromJwks(jwks: { keys?: unknown }): Promise<SigningKeys> {
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error('signing key set has no keys');
  const keys: SigningKey[] = [];
  for (const [index, raw] of jwks.keys.entries()) {
    const jwk = raw as JWK;
    if (typeof jwk.alg !== 'string') throw new Error(`signing key ${index}: alg is required`);
    if (typeof jwk.d !== 'string') throw new Error(`signing key ${index}: a private key is required`);
    const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk, 'sha256'));
    const publicJwk = publicPart(jwk, kid, jwk.alg);
    const publicKey = (await importJWK(publicJwk, jwk.alg)) as KeyHandle;
    keys.push({ kid, alg: jwk.alg, nodeKey: nodeSigningKey(jwk, jwk.alg), publicKey, publicJwk });
  }
  const kids = new Set(keys.map((key) => key.kid));
  if (kids.size !== keys.length) throw new Error('signing key set has duplicate kid values');
  return {
    current: keys[0]!,
    byKid: new Map(keys.map((key) => [key.kid, key])),
    algorithms: [...new Set(keys.map((key) => key.alg))],
    publicJwks: { keys: keys.map((key) => key.publicJwk) },
  };
}

/** A new private JWK set with one key of `alg`. */
export async function generateSigningJwks(alg: string): Promise<{ keys: JWK[] }> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg.startsWith('RS') || alg.startsWith('PS') ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  jwk.alg = alg;
  jwk.use = 'sig';
  jwk.kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { keys: [jwk] };
}

/**
 * Keys from `jwksFile` when configured; otherwise the key set kept in `dataDir`, generated on
 * first start so that restarts do not invalidate issued tokens.
 */
export async function loadSigningKeys(options: { jwksFile?: string | undefined; dataDir: string; algorithm: string }): Promise<SigningKeys> {
  if (options.jwksFile) {
    return signingKeysFromJwks(readJson(options.jwksFile));
  }
  const file = join(options.dataDir, 'signing-keys.json');
  try {
    return await signingKeysFromJwks(readJson(file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const jwks = await generateSigningJwks(options.algorithm);
  // Crash-safe (never an empty or half-written key file) and exclusive: when two instances
  // start on one data directory, the first write wins and both use it.
  if ((await writeFileAtomic(file, JSON.stringify(jwks, null, 2), { mode: 0o600, exclusive: true })) === 'exists') {
    return signingKeysFromJwks(readJson(file));
  }
  return signingKeysFromJwks(jwks);
}

function readJson(file: string): { keys?: unknown } {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as { keys?: unknown };
  } catch (error) {
    throw new Error(`${file}: not JSON: ${(error as Error).message}`);
  }
}
