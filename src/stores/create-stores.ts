import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { MemoryCodeStore } from './memory/code-store.js';
import { MemoryConsentStore } from './memory/consent-store.js';
import { MemoryEndedInteractions } from './memory/ended-interactions.js';
import { MemoryGrantStore } from './memory/grant-store.js';
import { MemoryRefreshTokenStore } from './memory/refresh-token-store.js';
import { MemoryReplayCache } from './memory/replay-cache.js';
import { MemoryRevokedTokens } from './memory/revoked-tokens.js';
import { MemorySessionStore } from './memory/session-store.js';
import type { Clock } from '../lib/clock.js';
import type {
  CodeStore,
  ConsentStore,
  EndedInteractions,
  FailureCounter,
  GrantStore,
  RefreshTokenStore,
  ReplayCache,
  RevokedTokens,
  SessionStore,
} from './ports.js';
import { guarded } from './redis/client.js';
import { RedisCodeStore } from './redis/code-store.js';
import { createRedisConnection } from './redis/connection.js';
import { RedisConsentStore } from './redis/consent-store.js';
import { RedisEndedInteractions } from './redis/ended-interactions.js';
import { RedisFailureCounter } from './redis/failure-counter.js';
import { RedisGrantStore } from './redis/grant-store.js';
import { RedisRefreshTokenStore } from './redis/refresh-token-store.js';
import { RedisReplayCache } from './redis/replay-cache.js';
import { RedisRevokedTokens } from './redis/revoked-tokens.js';
import { RedisSessionStore } from './redis/session-store.js';

/** Every store the provider uses, from one backend: memory (one process) or Redis (several instances). */
export interface Stores {
  replayCache: ReplayCache;
  revoked: RevokedTokens;
  codes: CodeStore;
  grants: GrantStore;
  refreshTokens: RefreshTokenStore;
  sessions: SessionStore;
  consents: ConsentStore;
  /** Pending sign-ins live in the browser (a sealed cookie); only their ends are recorded. */
  endedInteractions: EndedInteractions;
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
      sessions: new MemorySessionStore(config.memoryMaxEntries, clock),
      consents: new MemoryConsentStore(config.memoryMaxEntries, clock),
      endedInteractions: new MemoryEndedInteractions(config.memoryMaxEntries, clock),
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
    sessions: new RedisSessionStore(redis, prefix),
    consents: new RedisConsentStore(redis, prefix),
    endedInteractions: new RedisEndedInteractions(redis, prefix),
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
