import { Redis } from 'ioredis';
import { StoreUnavailableError } from '../ports.js';

/**
 * One Redis connection for every store. Commands fail at once while Redis is unreachable (no
 * offline queue, short timeout) so that requests fail closed instead of hanging.
 */
export function createRedisClient(url: string): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
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

  constructor(readonly policy: string | undefined) {
    super(
      policy === undefined
        ? 'cannot read the Redis maxmemory-policy (neither CONFIG GET nor INFO memory tells it): make sure it is noeviction, then set store.allowEvictingRedis (REDIS_ALLOW_EVICTION=true) to start'
        : `Redis maxmemory-policy is ${policy}, which evicts keys under memory pressure (revoked tokens and used DPoP proofs would be accepted again): set maxmemory-policy noeviction, or accept the risk with store.allowEvictingRedis (REDIS_ALLOW_EVICTION=true); see docs/docker.md`,
    );
    this.name = 'EvictingRedisError';
  }
}

/** Throws EvictingRedisError unless the policy is noeviction. */
export async function assertNoEviction(client: Redis): Promise<void> {
  const policy = await readEvictionPolicy(client);
  if (policy !== 'noeviction') throw new EvictingRedisError(policy);
}
