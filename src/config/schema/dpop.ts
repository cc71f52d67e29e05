import { z } from 'zod';

export const dpopAlgorithms = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'EdDSA', 'Ed25519'] as const;

export const dpopSchema = z
  .strictObject({
    algs: z
      .array(z.enum(dpopAlgorithms))
      .min(1)
      .default(['ES256', 'ES384', 'PS256', 'EdDSA', 'Ed25519'])
      .describe('Proof algorithms accepted; asymmetric only (RFC 9449 §11.6).'),
    maxAgeSeconds: z.number().int().min(1).max(600).default(60).describe("How old a proof's iat may be, in seconds (RFC 9449 §11.1)."),
    maxFutureSeconds: z.number().int().min(0).max(300).default(5).describe("How far in the future a proof's iat may be, for clock skew."),
    jtiMaxLength: z
      .number()
      .int()
      .min(16)
      .max(4096)
      .default(256)
      .describe('Longer jti values are refused (RFC 9449 §11.1, memory exhaustion).'),
    requireNonce: z.boolean().default(false).describe('Require a server nonce in every proof (RFC 9449 §8, §9).'),
    nonceSecret: z
      .string()
      .min(32)
      .optional()
      .describe('Secret of the stateless nonce MAC, shared by every instance; generated into dataDir when absent.'),
    previousNonceSecret: z
      .string()
      .min(32)
      .optional()
      .describe('A secret whose nonces are accepted but never issued, for a rotation (docs/operations.md); needs nonceSecret.'),
    nonceStepSeconds: z
      .number()
      .int()
      .min(10)
      .max(3600)
      .default(60)
      .describe('A nonce is valid for the current and the previous step of this length.'),
    // One process serves at most about 2 800 DPoP requests per second (README, benchmark), whose
    // entries live the 65 s window: about 180 000 live entries, plus client assertions (up to
    // 305 s). 1 000 000 leaves room for that several times over, and costs about 45 MB when full
    // (docs/performance.md; up to 150 MB if every entry has its own owner).
    replayCacheMaxEntries: z
      .number()
      .int()
      .min(100)
      .default(1_000_000)
      .describe('Bound of the in-memory replay cache; when full of live entries, requests fail closed (503).'),
    // A confidential client (its DPoP proofs and client assertions), a public client's grant, or
    // an access token's client and subject: one holder of a valid credential cannot fill the
    // cache (RFC 9449 §11.1). 100 000 over a 60 s proof life allows about 1 600 claims per second
    // per credential (800 private_key_jwt token requests with DPoP); a user's grant needs a few per minute.
    replayCacheMaxEntriesPerOwner: z
      .number()
      .int()
      .min(1)
      .default(100_000)
      .describe('Live replay entries one credential may hold; past it the request is answered 429 with Retry-After.'),
    keyCacheMaxEntries: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .describe('Bound of the cache of checked proof headers and their imported keys.'),
  })
  .prefault({})
  .describe('DPoP proofs (RFC 9449): algorithms, time window, nonces, replay cache.');
