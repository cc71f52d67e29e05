/**
 * DPoP proofs (RFC 9449 §4.2) signed with node:crypto before a round starts, so the load
 * generator spends the round sending. Each proof has its own jti: both servers refuse a replay.
 */
import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';

export interface ProofKey {
  privateKey: KeyObject;
  header: string;
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function newProofKey(): ProofKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  return { privateKey, header: encode({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } }) };
}

/** `ath`: base64url SHA-256 of the access token (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url');
}

export function signProof(key: ProofKey, htm: string, htu: string, ath?: string): string {
  const claims = { jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000), ...(ath ? { ath } : {}) };
  const input = `${key.header}.${encode(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** The same proof shape `count` times, each with its own jti. */
export function signProofs(key: ProofKey, count: number, htm: string, htu: string, ath?: string): string[] {
  return Array.from({ length: count }, () => signProof(key, htm, htu, ath));
}

/** A fixed PKCE pair (RFC 7636, S256): the codes are minted for the benchmark's one client. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = 'bench-pkce-verifier-0123456789abcdefghijklmnopqrstuvwxyz';
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The protected header and claims of a JWT, without verifying it (for the equivalence check). */
export function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header, claims] = token.split('.');
  const parse = (part: string | undefined) => JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: parse(header), claims: parse(claims) };
}
