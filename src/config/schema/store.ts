import { z } from 'zod';

export const storeSchema = z
  .strictObject({
    type: z
      .enum(['memory', 'redis'])
      .default('memory')
      .describe('memory: one process (the embedded default); redis: state shared by every instance.'),
    redisUrl: z.string().url().default('redis://127.0.0.1:6379').describe('The Redis server, with the redis store.'),
    keyPrefix: z.string().default('dpop-oidc:').describe('Prefix of every Redis key, so several deployments can share a server.'),
    memoryMaxEntries: z
      .number()
      .int()
      .min(100)
      .default(1_000_000)
      .describe('Bound of each in-memory store; when full of live entries, requests fail closed.'),
    // Every key has a TTL, so any evicting policy can drop revocations and replay entries under
    // memory pressure: a revoked token or a used proof is accepted again. Only for a Redis you
    // know never reaches maxmemory.
    allowEvictingRedis: z
      .boolean()
      .default(false)
      .describe("Start (and report ready) although Redis's maxmemory-policy is not noeviction."),
  })
  .prefault({})
  .describe('Where state lives: codes, grants, replay entries, revocations, rate-limit windows.');
