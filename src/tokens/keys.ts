import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { writeFileAtomic } from '../lib/atomic-file.js';
import { nodeSigningKey } from './jws.js';
import { activeKeyIndex, KeySetError } from './key-states.js';

/** The provider's signing keys: the active one signs, all verify; only public parts are published. */
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
  /** The active key: it signs every new token. */
  readonly current: SigningKey;
  /** Every key in the set, active and published: tokens signed by any of them verify. */
  readonly byKid: ReadonlyMap<string, SigningKey>;
  /** Algorithms of the set, the active key's first. */
  readonly algorithms: readonly string[];
  /** The JWK set served at the jwks endpoint: public members with kid, alg and use. */
  readonly publicJwks: { keys: JWK[] };
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

/**
 * Builds the key set from private JWKs; each needs `alg` (and gets a thumbprint `kid` if it has
 * none). The key whose `state` is "active" signs (src/tokens/key-states.ts), the first one
 * when no key has a state.
 */
export async function signingKeysFromJwks(jwks: { keys?: unknown }, source = 'signing key set'): Promise<SigningKeys> {
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new KeySetError(`${source}: the signing key set has no keys`);
  const members = jwks.keys.map((raw, index) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new KeySetError(`${source}: signing key ${index} is not a JSON object`);
    return raw as Record<string, unknown>;
  });
  const active = activeKeyIndex(members, source);
  const keys: SigningKey[] = [];
  for (const [index, member] of members.entries()) {
    const jwk = member as JWK;
    if (typeof jwk.alg !== 'string') throw new KeySetError(`${source}: signing key ${index}: alg is required`);
    if (typeof jwk.d !== 'string') throw new KeySetError(`${source}: signing key ${index}: a private key is required`);
    const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk, 'sha256'));
    const publicJwk = publicPart(jwk, kid, jwk.alg);
    const publicKey = (await importJWK(publicJwk, jwk.alg)) as KeyHandle;
    keys.push({ kid, alg: jwk.alg, nodeKey: nodeSigningKey(jwk, jwk.alg), publicKey, publicJwk });
  }
  const kids = new Set(keys.map((key) => key.kid));
  if (kids.size !== keys.length) throw new KeySetError(`${source}: the signing key set has duplicate kid values`);
  const current = keys[active]!;
  return {
    current,
    byKid: new Map(keys.map((key) => [key.kid, key])),
    algorithms: [...new Set([current.alg, ...keys.map((key) => key.alg)])],
    publicJwks: { keys: keys.map((key) => key.publicJwk) },
  };
}

/** A new private signing JWK of `alg`, with a thumbprint kid (RFC 7638). */
export async function generateSigningJwk(alg: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg.startsWith('RS') || alg.startsWith('PS') ? { modulusLength: 2048 } : {}),
  });
  const jwk = await exportJWK(privateKey);
  jwk.alg = alg;
  jwk.use = 'sig';
  jwk.kid = await calculateJwkThumbprint(jwk, 'sha256');
  return jwk;
}

/** A new private JWK set with one key of `alg`. */
export async function generateSigningJwks(alg: string): Promise<{ keys: JWK[] }> {
  return { keys: [await generateSigningJwk(alg)] };
}

export interface KeyFileOptions {
  jwksFile?: string | undefined;
  dataDir: string;
}

/** Where the key set lives: `keys.jwksFile` when configured, else DATA_DIR/signing-keys.json. The server and the keys command agree on it. */
export function signingKeyFile(options: KeyFileOptions): string {
  return options.jwksFile || join(options.dataDir, 'signing-keys.json');
}

/**
 * Keys from `jwksFile` when configured; otherwise the key set kept in `dataDir`, generated on
 * first start so that restarts do not invalidate issued tokens. A reload passes
 * `create: false`: a key file that went missing is an error then, never a new key.
 */
export async function loadSigningKeys(options: KeyFileOptions & { algorithm: string; create?: boolean }): Promise<SigningKeys> {
  const file = signingKeyFile(options);
  if (options.jwksFile || options.create === false) {
    return signingKeysFromJwks(readKeySetFile(file), file);
  }
  try {
    return await signingKeysFromJwks(readKeySetFile(file), file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const jwks = await generateSigningJwks(options.algorithm);
  // Crash-safe (never an empty or half-written key file) and exclusive: when two instances
  // start on one data directory, the first write wins and both use it.
  if ((await writeFileAtomic(file, JSON.stringify(jwks, null, 2), { mode: 0o600, exclusive: true })) === 'exists') {
    return signingKeysFromJwks(readKeySetFile(file), file);
  }
  return signingKeysFromJwks(jwks, file);
}

/** The key file as JSON; other members of the document are kept by whoever rewrites it. */
export function readKeySetFile(file: string): { keys?: unknown; [member: string]: unknown } {
  const text = readFileSync(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new KeySetError(`${file}: not JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new KeySetError(`${file}: not a JWK set (a JSON object with "keys")`);
  return parsed as { keys?: unknown };
}

/**
 * The key set the server uses now, behind one reference: everything that signs or verifies
 * reads it at call time, so a reload (SIGHUP) takes effect for the next token without a
 * restart. A signature picks its key once (`current`), so an in-flight token is never signed
 * with one key and labelled with another.
 */
export class KeyRing implements SigningKeys {
  #keys: SigningKeys;

  constructor(keys: SigningKeys) {
    this.#keys = keys;
  }

  /** The set as one consistent value, for what derives something from it (JWKS body, metadata). */
  get snapshot(): SigningKeys {
    return this.#keys;
  }

  get current(): SigningKey {
    return this.#keys.current;
  }

  get byKid(): ReadonlyMap<string, SigningKey> {
    return this.#keys.byKid;
  }

  get algorithms(): readonly string[] {
    return this.#keys.algorithms;
  }

  get publicJwks(): { keys: JWK[] } {
    return this.#keys.publicJwks;
  }

  replace(keys: SigningKeys): void {
    this.#keys = keys instanceof KeyRing ? keys.snapshot : keys;
  }
}
