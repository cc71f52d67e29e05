import { z } from 'zod';

export const storeSchema = z
  .strictObject({
    type: z
      .enum(['memory', 'redis'])
      .default('memory')
      .describe('memory: one process (the embedded default); redis: state shared by every instance.'),
    redisUrl: z
      .string()
      .url()
      .default('redis://127.0.0.1:6379')
      .describe(
        'The one Redis server (redis:// or rediss://, with a password if it needs one); unused with redisCluster or redisSentinel.',
      ),
    // Some of the cluster's nodes; the rest are discovered. The keys of each entity share a hash
    // tag, so each script runs in one slot; every master is checked for eviction and pinged.
    redisCluster: z
      .strictObject({
        nodes: z.array(z.string().url()).min(1).describe('Cluster node URLs; the user, password and TLS of the first apply to every node.'),
      })
      .optional()
      .describe('A Redis Cluster instead of one server.'),
    // After a failover the client follows the new master.
    redisSentinel: z
      .strictObject({
        sentinels: z
          .array(
            z.strictObject({
              host: z.string().min(1).describe('Sentinel host.'),
              port: z.number().int().min(1).max(65_535).default(26_379).describe('Sentinel port.'),
            }),
          )
          .min(1)
          .describe('The sentinels to ask for the master.'),
        name: z.string().min(1).describe('The master group name the sentinels monitor (sentinel monitor <name> ...).'),
        username: z.string().min(1).optional().describe("The Redis servers' user."),
        password: z.string().min(1).optional().describe("The Redis servers' password."),
        sentinelPassword: z.string().min(1).optional().describe("The sentinels' own password, when they require one."),
      })
      .optional()
      .describe('A master found through Redis Sentinel instead of a fixed server.'),
    // No braces: the adapters place hash tags ({...}) themselves, and a brace would move them.
    keyPrefix: z
      .string()
      .regex(/^[^{}]*$/, 'must not contain { or } (the Redis adapters place the hash tags)')
      .default('dpop-oidc:')
      .describe('Prefix of every Redis key, so several deployments can share a server.'),
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
  .refine((store) => store.redisCluster === undefined || store.redisSentinel === undefined, {
    message: 'set redisCluster or redisSentinel, not both',
    path: ['redisSentinel'],
  })
  .prefault({})
  .describe('Where state lives: codes, grants, replay entries, revocations, rate-limit windows.');
