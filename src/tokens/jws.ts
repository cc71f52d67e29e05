import { constants, createPrivateKey, sign, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import type { JWK } from 'jose';

/**
 * Compact JWS signing (RFC 7515 §7.1) of the provider's own tokens with node:crypto KeyObjects.
 * It stands in for jose's SignJWT on the hot path because jose 6 signs through WebCrypto,
 * about three times slower per signature on these machines (bench/run.ts, README); every token
 * it makes is verified with jose in the tests (test/unit/jws.test.ts), and the RFC 9068
 * claims are built by the callers as before.
 */
type Signer = { hash: string | null; options: Omit<SignKeyObjectInput, 'key'> };

const signers: Record<string, Signer> = {
  ES256: { hash: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  ES384: { hash: 'sha384', options: { dsaEncoding: 'ieee-p1363' } },
  ES512: { hash: 'sha512', options: { dsaEncoding: 'ieee-p1363' } },
  RS256: { hash: 'sha256', options: {} },
  RS384: { hash: 'sha384', options: {} },
  RS512: { hash: 'sha512', options: {} },
  PS256: { hash: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } },
  PS384: { hash: 'sha384', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } },
  PS512: { hash: 'sha512', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } },
  EdDSA: { hash: null, options: {} },
  Ed25519: { hash: null, options: {} },
};

export interface JwsSigningKey {
  alg: string;
  kid: string;
  nodeKey: KeyObject;
}

/** A node:crypto private key from a private JWK, for `alg`. */
export function nodeSigningKey(jwk: JWK, alg: string): KeyObject {
  if (!signers[alg]) throw new Error(`unsupported signing alg ${alg}`);
  const key = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  // jose's SignJWT refused these; node:crypto would sign, and jose (ours and the clients') then refuses every token.
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new Error(`${alg} requires an RSA key of 2048 bits or more`);
  }
  return key;
}

/** The encoded protected header of each key and typ, made once: it is the same in every token. */
const headerSegments = new WeakMap<JwsSigningKey, Map<string, string>>();

function protectedHeaderSegment(header: { typ?: string }, key: JwsSigningKey): string {
  let segments = headerSegments.get(key);
  if (!segments) headerSegments.set(key, (segments = new Map()));
  // A header without typ is kept apart from one with an empty typ.
  const cacheKey = header.typ === undefined ? 'none' : `typ:${header.typ}`;
  let segment = segments.get(cacheKey);
  if (segment === undefined) {
    const members = header.typ === undefined ? {} : { typ: header.typ };
    segment = Buffer.from(JSON.stringify({ ...members, alg: key.alg, kid: key.kid })).toString('base64url');
    segments.set(cacheKey, segment);
  }
  return segment;
}

export function signCompactJws(header: { typ?: string }, payload: Record<string, unknown>, key: JwsSigningKey): string {
  const signer = signers[key.alg];
  if (!signer) throw new Error(`unsupported signing alg ${key.alg}`);
  const signingInput = `${protectedHeaderSegment(header, key)}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = sign(signer.hash, Buffer.from(signingInput, 'ascii'), { key: key.nodeKey, ...signer.options });
  return `${signingInput}.${signature.toString('base64url')}`;
}
