import { constants, createPublicKey, verify, type JsonWebKey, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';

/**
 * Compact JWS verification (RFC 7515 §5.2) with node:crypto KeyObjects, on the hot path (DPoP
 * proofs, our access tokens): jose 6 verifies through WebCrypto, several times slower per
 * call on these machines (bench/hot-path.ts, docs/performance.md). It keeps jose's refusals:
 * strict base64url, a JSON object header in UTF-8, no `crit` (so no `b64: false`), and a key
 * whose kty, crv and size fit the alg as jose's importJWK and verify demand. The RFC 9449
 * vectors and the negative tests of test/unit/dpop-*.test.ts and jws-verify.test.ts pin it.
 */

interface Verifier {
  hash: string | null;
  options: Omit<VerifyKeyObjectInput, 'key'>;
  kty: 'EC' | 'RSA' | 'OKP';
  /** JWK crv (EC, OKP) the alg demands. */
  crv?: string;
  /** node:crypto's name of that curve, checked on the imported key. */
  namedCurve?: string;
  asymmetricKeyType: 'ec' | 'rsa' | 'ed25519';
}

const ieee = { dsaEncoding: 'ieee-p1363' } as const;
const pss = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };

const verifiers: Record<string, Verifier> = {
  ES256: { hash: 'sha256', options: ieee, kty: 'EC', crv: 'P-256', namedCurve: 'prime256v1', asymmetricKeyType: 'ec' },
  ES384: { hash: 'sha384', options: ieee, kty: 'EC', crv: 'P-384', namedCurve: 'secp384r1', asymmetricKeyType: 'ec' },
  ES512: { hash: 'sha512', options: ieee, kty: 'EC', crv: 'P-521', namedCurve: 'secp521r1', asymmetricKeyType: 'ec' },
  RS256: { hash: 'sha256', options: {}, kty: 'RSA', asymmetricKeyType: 'rsa' },
  RS384: { hash: 'sha384', options: {}, kty: 'RSA', asymmetricKeyType: 'rsa' },
  RS512: { hash: 'sha512', options: {}, kty: 'RSA', asymmetricKeyType: 'rsa' },
  PS256: { hash: 'sha256', options: pss, kty: 'RSA', asymmetricKeyType: 'rsa' },
  PS384: { hash: 'sha384', options: pss, kty: 'RSA', asymmetricKeyType: 'rsa' },
  PS512: { hash: 'sha512', options: pss, kty: 'RSA', asymmetricKeyType: 'rsa' },
  // jose 6: "EdDSA" and the fully-specified "Ed25519" (RFC 9864) both mean Ed25519 only.
  EdDSA: { hash: null, options: {}, kty: 'OKP', crv: 'Ed25519', asymmetricKeyType: 'ed25519' },
  Ed25519: { hash: null, options: {}, kty: 'OKP', crv: 'Ed25519', asymmetricKeyType: 'ed25519' },
};

/** jose refuses RSA keys under 2048 bits for RS* and PS* (RFC 7518 §3.3, §3.5). */
const minRsaBits = 2048;

const keyMembers: Record<Verifier['kty'], readonly string[]> = {
  EC: ['kty', 'crv', 'x', 'y'],
  RSA: ['kty', 'n', 'e'],
  OKP: ['kty', 'crv', 'x'],
};

export class JwsError extends Error {}

export interface DecodedJws {
  header: Record<string, unknown>;
  /** `protected.payload`, the bytes the signature covers. */
  signingInput: string;
  payloadSegment: string;
  signatureSegment: string;
}

const base64urlSegment = /^[A-Za-z0-9_-]*$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 7515 §2 base64url without padding; Buffer alone would skip what it cannot read. */
export function decodeBase64urlSegment(segment: string): Buffer {
  if (!base64urlSegment.test(segment) || segment.length % 4 === 1) throw new JwsError('not base64url');
  return Buffer.from(segment, 'base64url');
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The three parts of a compact JWS and its protected header, decoded once. Throws JwsError
 * when the header is not a base64url UTF-8 JSON object.
 */
export function decodeCompactJws(jws: string): DecodedJws {
  const parts = jws.split('.');
  if (parts.length !== 3) throw new JwsError('not a compact JWS');
  const [protectedSegment, payloadSegment, signatureSegment] = parts as [string, string, string];
  if (protectedSegment.length === 0) throw new JwsError('empty header');
  let header: unknown;
  try {
    header = JSON.parse(strictUtf8.decode(decodeBase64urlSegment(protectedSegment)));
  } catch {
    throw new JwsError('header is not base64url JSON');
  }
  if (!isJsonObject(header)) throw new JwsError('header is not a JSON object');
  return { header, signingInput: `${protectedSegment}.${payloadSegment}`, payloadSegment, signatureSegment };
}

/**
 * RFC 7515 §4.1.11: jose understands no critical extension but `b64` (RFC 7797), and neither
 * a JWT nor a DPoP proof may have an unencoded payload; so any `crit` is refused. Without
 * `crit`, `b64` is an ordinary member and means nothing (RFC 7797 §6), as in jose.
 */
export function assertNoCriticalExtensions(header: Record<string, unknown>): void {
  if (header.crit !== undefined) throw new JwsError('crit is not supported');
}

export function isSupportedJwsAlgorithm(alg: string): boolean {
  return Object.hasOwn(verifiers, alg);
}

/**
 * A public KeyObject from a public JWK fit for `alg`, as strict as jose's importJWK plus its
 * verify-time checks: kty of the alg, the alg's curve (ES256 P-256, ES384 P-384, ES512 P-521,
 * EdDSA/Ed25519 Ed25519), RSA of 2048 bits or more, a valid `ext` and `key_ops` allowing verify.
 * Throws JwsError otherwise. The caller has refused private members.
 */
export function publicKeyForAlgorithm(jwk: Record<string, unknown>, alg: string): KeyObject {
  const verifier = Object.hasOwn(verifiers, alg) ? verifiers[alg] : undefined;
  if (!verifier) throw new JwsError('unsupported alg');
  if (jwk.kty !== verifier.kty) throw new JwsError('kty does not fit alg');
  if (verifier.crv !== undefined && jwk.crv !== verifier.crv) throw new JwsError('crv does not fit alg');
  if (jwk.ext !== undefined && typeof jwk.ext !== 'boolean') throw new JwsError('ext must be a boolean');
  // WebCrypto imports a public key with key_ops as its usages, which may only be "verify" (once).
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.length === 1 && jwk.key_ops[0] === 'verify')) {
    throw new JwsError('key_ops must allow verify only');
  }
  const members: Record<string, unknown> = {};
  for (const member of keyMembers[verifier.kty]) {
    if (typeof jwk[member] !== 'string') throw new JwsError(`${member} is missing`);
    members[member] = jwk[member];
  }
  let key: KeyObject;
  try {
    // node:crypto checks the coordinates' lengths and that the point is on the curve.
    key = createPublicKey({ key: members as JsonWebKey, format: 'jwk' });
  } catch {
    throw new JwsError('not a valid key');
  }
  return assertKeyFitsAlgorithm(key, alg);
}

/** Checks a KeyObject (ours, or imported) against `alg` as jose would; returns it. */
export function assertKeyFitsAlgorithm(key: KeyObject, alg: string): KeyObject {
  const verifier = Object.hasOwn(verifiers, alg) ? verifiers[alg] : undefined;
  if (!verifier) throw new JwsError('unsupported alg');
  if (key.asymmetricKeyType !== verifier.asymmetricKeyType) throw new JwsError('key type does not fit alg');
  if (verifier.namedCurve !== undefined && key.asymmetricKeyDetails?.namedCurve !== verifier.namedCurve) {
    throw new JwsError('curve does not fit alg');
  }
  if (verifier.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < minRsaBits) {
    throw new JwsError('RSA key is too small');
  }
  return key;
}

/** Whether `signatureSegment` is a valid `alg` signature of `signingInput` by `key`. Never throws. */
export function verifyJwsSignature(alg: string, key: KeyObject, signingInput: string, signatureSegment: string): boolean {
  const verifier = Object.hasOwn(verifiers, alg) ? verifiers[alg] : undefined;
  if (!verifier) return false;
  let signature: Buffer;
  try {
    signature = decodeBase64urlSegment(signatureSegment);
  } catch {
    return false;
  }
  try {
    // ieee-p1363 (R || S, RFC 7518 §3.4): a signature of another length does not verify.
    return verify(verifier.hash, Buffer.from(signingInput, 'ascii'), { key, ...verifier.options }, signature);
  } catch {
    return false;
  }
}

/** The payload's JSON value (strict UTF-8), or throws JwsError. */
export function decodeJsonPayload(payloadSegment: string): unknown {
  try {
    return JSON.parse(strictUtf8.decode(decodeBase64urlSegment(payloadSegment)));
  } catch {
    throw new JwsError('payload is not base64url JSON');
  }
}

const publicKeys = new WeakMap<KeyObject, KeyObject>();

/**
 * The public KeyObject of one of our private signing keys, derived once per key and checked
 * against its alg; kept as long as the private key (a reloaded key set brings new ones).
 */
export function publicKeyOf(privateKey: KeyObject, alg: string): KeyObject {
  let publicKey = publicKeys.get(privateKey);
  if (!publicKey) {
    publicKey = assertKeyFitsAlgorithm(createPublicKey(privateKey), alg);
    publicKeys.set(privateKey, publicKey);
  }
  return publicKey;
}
