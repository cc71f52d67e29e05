import { CompactSign } from 'jose';
import { expect } from 'vitest';
import { DpopNonces } from '../../src/dpop/nonce.js';
import { DpopProofVerifier, type DpopProofRequest, type DpopVerifierSettings } from '../../src/dpop/verify-proof.js';
import { OAuthError } from '../../src/lib/oauth-error.js';
import { MemoryReplayCache } from '../../src/stores/memory/replay-cache.js';
import { testClock } from './app.js';
import { makeProof, type ProofKey, type ProofOptions } from './dpop.js';

/** The verifier as the app builds it by default (src/config/schema.ts). */
export const defaultVerifierSettings: DpopVerifierSettings = {
  algorithms: ['ES256', 'ES384', 'PS256', 'EdDSA', 'Ed25519'],
  maxAgeSeconds: 60,
  maxFutureSeconds: 5,
  jtiMaxLength: 256,
  keyCacheMaxEntries: 1000,
};

export const tokenUrl = 'https://op.example.test/oidc/token';
export const resourceUrl = 'https://op.example.test/oidc/profile';
export const nonceStepSeconds = 60;

export interface VerifierFixtureOptions {
  settings?: Partial<DpopVerifierSettings>;
  replayCacheMaxEntries?: number;
  /** Clock start in ms; the default starts on a nonce step boundary. */
  start?: number;
}

/**
 * A DpopProofVerifier with its real in-memory collaborators and an injected clock. `verify`
 * checks a proof as a token request (POST to `tokenUrl`, no nonce required) unless told
 * otherwise; `proof` builds one for now at `tokenUrl`, so tests name only what differs.
 */
export function verifierFixture(options: VerifierFixtureOptions = {}) {
  const clock = testClock(options.start);
  const nonces = new DpopNonces(Buffer.from('unit-test-nonce-secret-0123456789abcdef'), nonceStepSeconds, clock);
  const replayCache = new MemoryReplayCache(options.replayCacheMaxEntries ?? 10_000, clock);
  const verifier = new DpopProofVerifier({ ...defaultVerifierSettings, ...options.settings }, { replayCache, nonces, clock });
  const nowSeconds = () => clock() / 1000;
  /** Verifies a proof and claims it, as a request that passed its other checks would. */
  const verify = async (proof: string, request: Partial<Omit<DpopProofRequest, 'proof'>> = {}) => {
    const verified = verifier.verify({
      proof,
      method: 'POST',
      expectedHtu: tokenUrl,
      noncePurpose: 'token',
      requireNonce: false,
      ...request,
    });
    await verifier.claim(verified, 'client:test');
    return verified;
  };
  const proof = (key: ProofKey, proofOptions: Partial<ProofOptions> = {}) =>
    makeProof(key, { htu: tokenUrl, iat: nowSeconds(), ...proofOptions });
  return { verifier, clock, nonces, replayCache, verify, proof, nowSeconds };
}

/** Awaits a refusal and asserts its OAuthError code and reason exactly; returns the error. */
export async function expectRefusal(
  promise: Promise<unknown>,
  code: 'invalid_dpop_proof' | 'use_dpop_nonce',
  reason: string,
): Promise<OAuthError> {
  const error: unknown = await promise.then(
    () => expect.fail(`expected a refusal (${code}, ${reason}), but the proof was accepted`),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OAuthError);
  const oauthError = error as OAuthError;
  expect({ code: oauthError.code, reason: oauthError.reason }).toEqual({ code, reason });
  return oauthError;
}

export function b64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function b64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** Signs exactly the given protected header and payload bytes: for proofs makeProof cannot build. */
export function signRaw(key: ProofKey, header: Record<string, unknown>, payload: string | Record<string, unknown>): Promise<string> {
  const bytes = new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return new CompactSign(bytes).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

/** RFC 9449 §8.1: nonce = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E. */
export const nqchars = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
