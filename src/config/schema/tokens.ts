import { z } from 'zod';

/** Algorithms of a generated signing key (the server and `npm run keys -- generate --alg`). */
export const signingKeyAlgorithms = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'] as const;

export const keysSchema = z
  .strictObject({
    // Each key with kid and alg; `"state": "active"` on the one that signs, `"published"` on the
    // others, or no states: the first signs. Reloaded on SIGHUP and edited by `npm run keys`.
    jwksFile: z
      .string()
      .optional()
      .describe('A JWK set file of private signing keys; without it, keys are generated once into dataDir/signing-keys.json.'),
    algorithm: z.enum(signingKeyAlgorithms).default('ES256').describe('Algorithm of a generated signing key.'),
  })
  .prefault({})
  .describe('Signing keys of access tokens and ID tokens (docs/operations.md).');

export const accessTokenSchema = z
  .strictObject({
    ttlSeconds: z.number().int().min(30).max(86_400).default(600).describe('Lifetime of an access token.'),
    audience: z
      .string()
      .optional()
      .describe('aud of access tokens (RFC 9068 §3); defaults to the issuer, whose profile endpoint is the resource.'),
  })
  .prefault({})
  .describe('Access tokens: RFC 9068 JWTs, DPoP-bound when the client sends a proof.');

export const authorizationCodeSchema = z
  .strictObject({
    ttlSeconds: z.number().int().min(10).max(600).default(60).describe('Lifetime of an authorization code.'),
  })
  .prefault({})
  .describe('Authorization codes of the code flow.');

export const refreshTokenSchema = z
  .strictObject({
    ttlSeconds: z
      .number()
      .int()
      .min(60)
      .default(14 * 86_400)
      .describe('Lifetime of each refresh token; rotation issues a new one on every use.'),
    // A response lost to a timeout, a double submit, two tabs: the holder (same DPoP key, or the
    // same authenticated confidential client) gets an answer instead of a revoked grant.
    reuseGraceSeconds: z
      .number()
      .int()
      .min(0)
      .max(600)
      .default(60)
      .describe('How long a just-rotated refresh token (or a code exchange) may be retried by its holder; 0 turns it off.'),
    maxLiveAccessTokensPerGrant: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(32)
      .describe('Live access tokens a grant keeps track of; beyond it the oldest is revoked.'),
  })
  .prefault({})
  .describe('Refresh tokens, rotated on every use, one family per grant.');

export const idTokenSchema = z
  .strictObject({
    ttlSeconds: z.number().int().min(30).max(86_400).default(600).describe('Lifetime of an ID token.'),
  })
  .prefault({})
  .describe('ID tokens (OpenID Connect Core §2).');

export const sessionSchema = z
  .strictObject({
    ttlSeconds: z
      .number()
      .int()
      .min(60)
      .default(8 * 3600)
      .describe('How long a sign-in at the provider lasts.'),
    interactionTtlSeconds: z.number().int().min(60).default(600).describe('How long a user has to finish signing in and consenting.'),
    consentTtlSeconds: z
      .number()
      .int()
      .min(60)
      .default(365 * 86_400)
      .describe('How long a consent is remembered.'),
  })
  .prefault({})
  .describe('The browser session at the provider: sign-in, interaction and consent lifetimes.');
