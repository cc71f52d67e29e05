import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Session } from '../oauth/authorize/flow.js';
import type { Interaction } from '../oauth/authorize/interaction.js';
import { MemoryCodeStore } from './memory/code-store.js';
import { MemoryExpiringStore } from './memory/expiring-store.js';
import { MemoryGrantStore } from './memory/grant-store.js';
import { MemoryRefreshTokenStore } from './memory/refresh-token-store.js';
import { MemoryReplayCache } from './memory/replay-cache.js';
import { MemoryRevokedTokens } from './memory/revoked-tokens.js';
import type { Clock, CodeStore, ExpiringStore, FailureCounter, GrantStore, RefreshTokenStore, ReplayCache, RevokedTokens } from './ports.js';
import { guarded } from './redis/client.js';
import { RedisCodeStore } from './redis/code-store.js';
import { createRedisConnection } from './redis/connection.js';
import { RedisExpiringStore } from './redis/expiring-store.js';
import { RedisFailureCounter } from './redis/failure-counter.js';
import { RedisGrantStore } from './redis/grant-store.js';
import { RedisRefreshTokenStore } from './redis/refresh-token-store.js';
import { RedisReplayCache } from './redis/replay-cache.js';
import { RedisRevokedTokens } from './redis/revoked-tokens.js';

/** Every store the provider uses, from one backend: memory (one process) or Redis (several instances). */
export interface Stores {
  replayCache: ReplayCache;
  revoked: RevokedTokens;
  codes: CodeStore;
  grants: GrantStore;
  refreshTokens: RefreshTokenStore;
  sessions: ExpiringStore<Session>;
  interactions: ExpiringStore<Interaction>;
  consents: ExpiringStore<string[]>;
  /**
   * Fixed-window counts every instance shares (Redis): the rate limits and the failed client
   * authentications. Absent with memory, where each process counts its own, bounded, in app.ts.
   */
  sharedCounter?: FailureCounter;
  /** The replay cache forgets on restart (memory): proofs and assertions made before start are refused. */
  replayCacheIsVolatile: boolean;
  /** Throws StoreUnavailableError when the backend cannot answer (for readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Bounds of the replay cache; without a per-owner bound an owner is bounded by the total only. */
export interface ReplayCacheLimits {
  replayCacheMaxEntries: number;
  replayCacheMaxEntriesPerOwner?: number;
  /** The longest a proof is accepted (maxAge + maxFuture): Redis counts an owner's claims over it. */
  replayWindowMs?: number;
}

export function replayCacheLimits(dpop: Config['dpop']): ReplayCacheLimits {
  return {
    replayCacheMaxEntries: dpop.replayCacheMaxEntries,
    replayCacheMaxEntriesPerOwner: dpop.replayCacheMaxEntriesPerOwner,
    replayWindowMs: (dpop.maxAgeSeconds + dpop.maxFutureSeconds) * 1000,
  };
}

/**
 * `persistence.dataDir`: where the memory backend keeps what must survive a restart (the
 * revocation list). Without it (tests), everything lives in memory only.
 */
export async function createStores(
  config: Config['store'],
  limits: ReplayCacheLimits,
  clock: Clock,
  persistence: { dataDir?: string } = {},
): Promise<Stores> {
  const perOwner = limits.replayCacheMaxEntriesPerOwner;
  if (config.type === 'memory') {
    const revoked = await memoryRevokedTokens(config.memoryMaxEntries, clock, persistence.dataDir);
    return {
      replayCache: new MemoryReplayCache(limits.replayCacheMaxEntries, clock, { maxEntriesPerOwner: perOwner }),
      revoked,
      codes: new MemoryCodeStore(config.memoryMaxEntries, clock),
      // Revoking a grant denies its access tokens on this same list.
      grants: new MemoryGrantStore(config.memoryMaxEntries, clock, revoked),
      refreshTokens: new MemoryRefreshTokenStore(config.memoryMaxEntries, clock),
      sessions: new MemoryExpiringStore('session', config.memoryMaxEntries, clock),
      // Pending sign-ins are created before anyone authenticates: a tighter bound.
      interactions: new MemoryExpiringStore('interaction', Math.min(config.memoryMaxEntries, 100_000), clock),
      consents: new MemoryExpiringStore('consent', config.memoryMaxEntries, clock),
      replayCacheIsVolatile: true,
      ping: async () => {},
      close: async () => {},
    };
  }
  const connection = createRedisConnection(config);
  try {
    await connection.connect();
  } catch (error) {
    connection.client.disconnect();
    throw new Error(`cannot reach ${connection.description}: ${(error as Error).message}`);
  }
  // Checked at start and by every readiness probe (someone may change it at runtime), on every master.
  const checkEviction = async () => {
    if (!config.allowEvictingRedis) await connection.assertNoEviction();
  };
  try {
    await checkEviction();
  } catch (error) {
    connection.client.disconnect();
    throw error;
  }
  const redis = connection.client;
  const prefix = config.keyPrefix;
  return {
    replayCache: new RedisReplayCache(
      redis,
      prefix,
      { maxEntriesPerOwner: perOwner ?? Number.MAX_SAFE_INTEGER, windowMs: limits.replayWindowMs ?? 65_000 },
      clock,
    ),
    revoked: new RedisRevokedTokens(redis, prefix, clock),
    codes: new RedisCodeStore(redis, prefix),
    grants: new RedisGrantStore(redis, prefix, clock),
    refreshTokens: new RedisRefreshTokenStore(redis, prefix, clock),
    sessions: new RedisExpiringStore(redis, prefix, 'session'),
    interactions: new RedisExpiringStore(redis, prefix, 'interaction'),
    consents: new RedisExpiringStore(redis, prefix, 'consent'),
    sharedCounter: new RedisFailureCounter(redis, prefix),
    replayCacheIsVolatile: false,
    ping: async () => {
      await guarded('redis', () => connection.ping());
      await guarded('redis', checkEviction);
    },
    close: () => connection.close(),
  };
}

async function memoryRevokedTokens(maxEntries: number, clock: Clock, dataDir: string | undefined): Promise<RevokedTokens> {
  if (dataDir === undefined) return new MemoryRevokedTokens(maxEntries, clock);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return MemoryRevokedTokens.open(join(dataDir, 'revoked.json'), maxEntries, clock);
}
