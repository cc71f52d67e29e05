import { Redis } from 'ioredis';
import { StoreUnavailableError } from '../ports.js';

/**
 * Commands fail at once while Redis is unreachable (no offline queue, short timeout) so that
 * requests fail closed instead of hanging. Every connection shape (server, Sentinel, Cluster
 * nodes) uses these.
 */
export const failFastOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 1000,
  connectTimeout: 2000,
} as const;

/** The client itself keeps reconnecting, at most every 2 s. */
export const reconnectDelay = (attempt: number): number => Math.min(attempt * 200, 2000);

/** One connection to one Redis server, by URL (the connection shapes of the config: connection.ts). */
export function createRedisClient(url: string): Redis {
  const client = new Redis(url, { lazyConnect: true, ...failFastOptions, retryStrategy: reconnectDelay });
  // Connection errors surface where they matter: each failing command is logged and answered
  // 503 by the error handler, and /readyz reports 503. The client itself keeps reconnecting.
  client.on('error', () => {});
  return client;
}

/** Runs a Redis call; any failure becomes StoreUnavailableError (answered 503, logged), unless it is one already. */
export async function guarded<T>(store: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(`${store}: ${(error as Error).message}`);
  }
}

/**
 * Redis's `maxmemory-policy`: `CONFIG GET`, or `INFO memory` where CONFIG is disabled (renamed
 * away on many managed services). Undefined when neither tells.
 */
export async function readEvictionPolicy(client: Redis): Promise<string | undefined> {
  try {
    const reply = (await client.call('CONFIG', 'GET', 'maxmemory-policy')) as unknown;
    if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
  } catch (error) {
    // A disabled command is an error reply; a dead connection is not worth a second try.
    if (!isErrorReply(error)) throw error;
  }
  const info = await client.info('memory');
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
}

function isErrorReply(error: unknown): boolean {
  return (error as Error).name === 'ReplyError';
}

/**
 * Refuses a Redis that may evict keys. Every key the provider writes has a TTL, so an evicting
 * policy (volatile-* as much as allkeys-*) drops revocations and replay entries under memory
 * pressure: a revoked token works again, a used proof is accepted a second time.
 */
export class EvictingRedisError extends StoreUnavailableError {
  /** For /readyz. */
  readonly reason = 'redis_evicting';

  /** `server` names the one that evicts: the server, or the Cluster master. */
  constructor(
    readonly policy: string | undefined,
    readonly server: string,
  ) {
    const problem =
      policy === undefined
        ? 'cannot read the Redis maxmemory-policy (neither CONFIG GET nor INFO memory tells it): make sure it is noeviction, then set store.allowEvictingRedis (REDIS_ALLOW_EVICTION=true) to start'
        : `Redis maxmemory-policy is ${policy}, which evicts keys under memory pressure (revoked tokens and used DPoP proofs would be accepted again): set maxmemory-policy noeviction, or accept the risk with store.allowEvictingRedis (REDIS_ALLOW_EVICTION=true); see docs/docker.md`;
    super(`${problem} (${server})`);
    this.name = 'EvictingRedisError';
  }
}

/** Throws EvictingRedisError unless the policy of `client`, described by `server`, is noeviction. */
export async function assertNoEviction(client: Redis, server: string): Promise<void> {
  const policy = await readEvictionPolicy(client);
  if (policy !== 'noeviction') throw new EvictingRedisError(policy, server);
}
