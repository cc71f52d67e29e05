import { z } from 'zod';

/**
 * Failed client authentications (token, introspection, revocation), counted in fixed windows
 * against guessing a client secret. A secret presented for a client_id, known or not, counts
 * against that client_id; every failure counts against the caller's address (IPv6 by /64).
 * Once a key has its maximum, every attempt for it is answered 429 with Retry-After until the
 * window ends, the right secret included, so that guessing cannot go on.
 */
export const clientAuthSchema = z
  .strictObject({
    // Anyone can spend them: this is also how long a client can be locked out.
    maxFailuresPerClient: z.number().int().min(1).default(10).describe('Failures with a secret for one client_id per window.'),
    maxFailuresPerAddress: z
      .number()
      .int()
      .min(1)
      .default(30)
      .describe('Failures from one address (an IPv6 /64) per window, whatever the client_id or method.'),
    windowSeconds: z.number().int().min(1).max(86_400).default(60).describe("Length of a window; it starts at a key's first failure."),
    maxTrackedKeys: z
      .number()
      .int()
      .min(100)
      .default(100_000)
      .describe('Keys (client_ids and addresses) tracked in memory; when full, the oldest window is dropped first.'),
  })
  .prefault({})
  .describe('Failed client authentications per client_id and per address, in fixed windows; past a bound, 429 with Retry-After.');

/**
 * With the Redis store every instance counts in the same windows, as do the sign-in and
 * authorization limits (http.loginAttemptsPerMinute, http.authorizeRequestsPerMinute, per client
 * address) and the clientAuth limits.
 */
export const rateLimitsSchema = z
  .strictObject({
    // A resource server that introspects every request it serves needs one per request: 30 000 a
    // minute is 500 a second, about a tenth of what one instance answered in the benchmark
    // (README), so one client cannot take it all; one that verifies the JWTs itself needs none.
    introspectionPerClientPerMinute: z.number().int().min(1).default(30_000).describe('Introspection requests of one client per minute.'),
    // Each may add a denylist entry that lives until its token expires: 600 a minute with
    // 10-minute tokens is at most 6 000 entries per client.
    revocationPerClientPerMinute: z.number().int().min(1).default(600).describe('Revocation requests of one client per minute.'),
    memoryMaxTrackedKeys: z
      .number()
      .int()
      .min(100)
      .default(100_000)
      .describe('Keys the memory store tracks for these and the sign-in and authorization limits; when full, the oldest windows go first.'),
  })
  .prefault({})
  .describe('Requests per authenticated client per minute, in fixed windows; past a limit, 429 with Retry-After.');
