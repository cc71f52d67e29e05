import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCodeStore } from '../../src/stores/memory/code-store.js';
import { MemoryExpiringStore } from '../../src/stores/memory/expiring-store.js';
import { MemoryFailureCounter } from '../../src/stores/memory/failure-counter.js';
import { MemoryGrantStore } from '../../src/stores/memory/grant-store.js';
import { MemoryRefreshTokenStore } from '../../src/stores/memory/refresh-token-store.js';
import { MemoryReplayCache } from '../../src/stores/memory/replay-cache.js';
import { MemoryRevokedTokens } from '../../src/stores/memory/revoked-tokens.js';
import {
  StoreUnavailableError,
  systemClock,
  type AuthorizationCodeRecord,
  type Clock,
  type CodeStore,
  type ExpiringStore,
  type FailureCounter,
  type GrantStore,
  type RefreshTokenRecord,
  type RefreshTokenStore,
  type ReplayCache,
  type RevokedTokens,
} from '../../src/stores/ports.js';
import { createRedisClient } from '../../src/stores/redis/client.js';
import { RedisCodeStore } from '../../src/stores/redis/code-store.js';
import { RedisExpiringStore } from '../../src/stores/redis/expiring-store.js';
import { RedisFailureCounter } from '../../src/stores/redis/failure-counter.js';
import { RedisGrantStore } from '../../src/stores/redis/grant-store.js';
import { RedisRefreshTokenStore } from '../../src/stores/redis/refresh-token-store.js';
import { RedisReplayCache } from '../../src/stores/redis/replay-cache.js';
import { RedisRevokedTokens } from '../../src/stores/redis/revoked-tokens.js';
import { testClock } from '../helpers/app.js';

/** One contract for every adapter of every port: the in-memory default and Redis (a real server). */
interface Adapters {
  replay: ReplayCache;
  revoked: RevokedTokens;
  codes: CodeStore;
  refresh: RefreshTokenStore;
  grants: GrantStore;
  sessions: ExpiringStore<{ sub: string }>;
  failures: FailureCounter;
}

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `dpop-oidc-test:${randomBytes(6).toString('hex')}:`;
let redis: Redis;

beforeAll(async () => {
  redis = createRedisClient(redisUrl);
  await redis.connect();
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const factories: Array<[string, () => Adapters]> = [
  [
    'memory',
    () => ({
      replay: new MemoryReplayCache(1000, systemClock),
      revoked: new MemoryRevokedTokens(1000, systemClock),
      codes: new MemoryCodeStore(1000, systemClock),
      refresh: new MemoryRefreshTokenStore(1000, systemClock),
      grants: new MemoryGrantStore(1000, systemClock),
      sessions: new MemoryExpiringStore('session', 1000, systemClock),
      failures: new MemoryFailureCounter(1000, systemClock),
    }),
  ],
  [
    'redis',
    () => ({
      replay: new RedisReplayCache(redis, prefix),
      revoked: new RedisRevokedTokens(redis, prefix, systemClock),
      codes: new RedisCodeStore(redis, prefix),
      refresh: new RedisRefreshTokenStore(redis, prefix, systemClock),
      grants: new RedisGrantStore(redis, prefix, systemClock),
      sessions: new RedisExpiringStore(redis, prefix, 'session'),
      failures: new RedisFailureCounter(redis, prefix),
    }),
  ],
];

const id = () => randomBytes(12).toString('base64url');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function codeRecord(): AuthorizationCodeRecord {
  return {
    clientId: 'spa',
    redirectUri: 'https://spa.example.test/cb',
    scopes: [],
    sub: 'alice',
    authTime: 1,
    nonce: undefined,
    codeChallenge: 'c'.repeat(43),
    dpopJkt: undefined,
    grantId: id(),
  };
}

function refreshRecord(ttlMs = 60_000): RefreshTokenRecord {
  return { grantId: id(), clientId: 'spa', scopes: ['openid'], jkt: 'j'.repeat(43), expiresAtMs: Date.now() + ttlMs };
}

/** Replay caches whose owners may hold `maxEntriesPerOwner` entries (the window is the DPoP default, 65 s). */
const boundedReplayCaches: Record<string, (maxEntriesPerOwner: number, clock: Clock) => ReplayCache> = {
  memory: (maxEntriesPerOwner, clock) => new MemoryReplayCache(1000, clock, { maxEntriesPerOwner }),
  redis: (maxEntriesPerOwner, clock) => new RedisReplayCache(redis, prefix, { maxEntriesPerOwner, windowMs: 65_000 }, clock),
};

describe.each(factories)('store contract: %s', (name, make) => {
  let stores: Adapters;
  beforeAll(() => {
    stores = make();
  });

  describe('ReplayCache', () => {
    it('claims a key once within its TTL, and again after it', async () => {
      const key = id();
      const owner = id();
      expect(await stores.replay.claim(key, 100, owner)).toBe('claimed');
      expect(await stores.replay.claim(key, 100, owner)).toBe('replayed');
      await sleep(150);
      expect(await stores.replay.claim(key, 100, owner)).toBe('claimed');
    });

    it('gives exactly one winner among concurrent claims', async () => {
      const key = id();
      const owner = id();
      const results = await Promise.all(Array.from({ length: 20 }, () => stores.replay.claim(key, 5000, owner)));
      expect(results.filter((result) => result === 'claimed')).toHaveLength(1);
    });

    describe('bounds what one owner holds (one credential cannot fill the cache)', () => {
      const bounded = (maxEntriesPerOwner: number, clock: Clock = systemClock) => boundedReplayCaches[name]!(maxEntriesPerOwner, clock);

      it('answers owner_limit once the owner has claimed its bound, and records nothing then', async () => {
        const replay = bounded(3);
        const owner = `client:${id()}`;
        for (let index = 0; index < 3; index++) expect(await replay.claim(id(), 5000, owner)).toBe('claimed');
        const refused = id();
        expect(await replay.claim(refused, 5000, owner)).toBe('owner_limit');
        expect(await replay.claim(refused, 5000, `client:${id()}`)).toBe('claimed');
      });

      it('still answers replayed for a key it holds, at the bound', async () => {
        const replay = bounded(1);
        const owner = `grant:${id()}`;
        const key = id();
        expect(await replay.claim(key, 5000, owner)).toBe('claimed');
        expect(await replay.claim(key, 5000, owner)).toBe('replayed');
      });

      it('lets no more than the bound through among concurrent claims of one owner', async () => {
        const replay = bounded(5);
        const owner = `grant:${id()}`;
        const results = await Promise.all(Array.from({ length: 30 }, () => replay.claim(id(), 5000, owner)));
        expect(results.filter((result) => result === 'claimed')).toHaveLength(5);
        expect(results.filter((result) => result === 'owner_limit')).toHaveLength(25);
      });

      it('counts each owner apart', async () => {
        const replay = bounded(1);
        const [first, second] = [`grant:${id()}`, `grant:${id()}`];
        expect(await replay.claim(id(), 5000, first)).toBe('claimed');
        expect(await replay.claim(id(), 5000, second)).toBe('claimed');
        expect(await replay.claim(id(), 5000, first)).toBe('owner_limit');
      });

      it("frees the owner's share once its entries have ended and the window has passed", async () => {
        const clock = testClock(Date.now());
        const replay = bounded(2, clock);
        const owner = `client:${id()}`;
        expect(await replay.claim(id(), 100, owner)).toBe('claimed');
        expect(await replay.claim(id(), 100, owner)).toBe('claimed');
        expect(await replay.claim(id(), 100, owner)).toBe('owner_limit');
        // Redis expires the entries in its own time; the owner's window follows the clock.
        await sleep(150);
        clock.advance(130_000);
        expect(await replay.claim(id(), 100, owner)).toBe('claimed');
      });
    });
  });

  describe('RevokedTokens', () => {
    it('denies a revoked jti until its expiry, and only that one', async () => {
      const jti = id();
      await stores.revoked.revoke(jti, Date.now() + 100);
      expect(await stores.revoked.isRevoked(jti)).toBe(true);
      expect(await stores.revoked.isRevoked(id())).toBe(false);
      await sleep(150);
      expect(await stores.revoked.isRevoked(jti)).toBe(false);
    });

    it('ignores a token that has already expired', async () => {
      const jti = id();
      await stores.revoked.revoke(jti, Date.now() - 1000);
      expect(await stores.revoked.isRevoked(jti)).toBe(false);
    });
  });

  describe('CodeStore', () => {
    it('peeks without consuming, consumes once, then reports reuse', async () => {
      const hash = id();
      const record = codeRecord();
      await stores.codes.save(hash, record, 5000);
      expect(await stores.codes.peek(hash)).toEqual({ record, used: false });
      expect(await stores.codes.consume(hash)).toBe('consumed');
      expect(await stores.codes.consume(hash)).toBe('reused');
      expect((await stores.codes.peek(hash))?.used).toBe(true);
      expect(await stores.codes.consume(id())).toBe('missing');
    });

    it('lets exactly one of many concurrent redemptions consume a code', async () => {
      const hash = id();
      await stores.codes.save(hash, codeRecord(), 5000);
      const results = await Promise.all(Array.from({ length: 20 }, () => stores.codes.consume(hash)));
      expect(results.filter((result) => result === 'consumed')).toHaveLength(1);
      expect(results.filter((result) => result === 'reused')).toHaveLength(19);
    });

    it('forgets a code after its TTL', async () => {
      const hash = id();
      await stores.codes.save(hash, codeRecord(), 100);
      await sleep(150);
      expect(await stores.codes.peek(hash)).toBeUndefined();
      expect(await stores.codes.consume(hash)).toBe('missing');
    });
  });

  describe('RefreshTokenStore', () => {
    it('rotates once: the successor exists, the old token is then reused', async () => {
      const [old, next] = [id(), id()];
      const record = refreshRecord();
      await stores.refresh.save(old, record);
      expect(await stores.refresh.peek(old)).toEqual({ record, used: false });
      expect(await stores.refresh.rotate(old, next, record)).toBe('consumed');
      expect(await stores.refresh.peek(next)).toEqual({ record, used: false });
      expect(await stores.refresh.rotate(old, id(), record)).toBe('reused');
      expect(await stores.refresh.rotate(id(), id(), record)).toBe('missing');
    });

    it('lets exactly one of many concurrent rotations win', async () => {
      const old = id();
      const record = refreshRecord();
      await stores.refresh.save(old, record);
      const results = await Promise.all(Array.from({ length: 20 }, () => stores.refresh.rotate(old, id(), record)));
      expect(results.filter((result) => result === 'consumed')).toHaveLength(1);
    });
  });

  describe('GrantStore', () => {
    it('finds an active grant, records its tokens, and revokes it with its live tokens', async () => {
      const grant = { id: id(), clientId: 'spa', sub: 'alice', scopes: ['openid', 'offline_access'], authTime: 1 };
      await stores.grants.create(grant, 60_000);
      expect(await stores.grants.find(grant.id)).toEqual(grant);
      const live = Date.now() + 60_000;
      expect(await stores.grants.addAccessToken(grant.id, 'jti-live', live)).toBe(true);
      expect(await stores.grants.addAccessToken(grant.id, 'jti-expired', Date.now() - 1)).toBe(true);
      expect(await stores.grants.revoke(grant.id)).toEqual([{ jti: 'jti-live', expiresAtMs: live }]);
      expect(await stores.grants.find(grant.id)).toBeUndefined();
      // A token minted while the revocation ran is refused, not recorded.
      expect(await stores.grants.addAccessToken(grant.id, 'jti-late', live)).toBe(false);
    });

    it('does not replace an existing grant: a second create keeps its revocation and its tokens', async () => {
      const grant = { id: id(), clientId: 'spa', sub: 'alice', scopes: ['openid'], authTime: 1 };
      const live = Date.now() + 60_000;
      await stores.grants.create(grant, 60_000);
      expect(await stores.grants.addAccessToken(grant.id, 'jti-first', live)).toBe(true);
      await stores.grants.create(grant, 60_000);
      expect(await stores.grants.revoke(grant.id)).toEqual([{ jti: 'jti-first', expiresAtMs: live }]);
      await stores.grants.create(grant, 60_000);
      expect(await stores.grants.find(grant.id)).toBeUndefined();
      expect(await stores.grants.addAccessToken(grant.id, 'jti-late', live)).toBe(false);
    });

    it('knows nothing of an unknown grant', async () => {
      expect(await stores.grants.find(id())).toBeUndefined();
      expect(await stores.grants.revoke(id())).toEqual([]);
      expect(await stores.grants.addAccessToken(id(), 'x', Date.now() + 1000)).toBe(false);
    });
  });

  describe('ExpiringStore', () => {
    it('sets, gets, replaces and deletes', async () => {
      const key = id();
      await stores.sessions.set(key, { sub: 'alice' }, 5000);
      expect(await stores.sessions.get(key)).toEqual({ sub: 'alice' });
      await stores.sessions.set(key, { sub: 'bob' }, 5000);
      expect(await stores.sessions.get(key)).toEqual({ sub: 'bob' });
      await stores.sessions.delete(key);
      expect(await stores.sessions.get(key)).toBeUndefined();
    });

    it('expires values after their TTL', async () => {
      const key = id();
      await stores.sessions.set(key, { sub: 'alice' }, 100);
      await sleep(150);
      expect(await stores.sessions.get(key)).toBeUndefined();
    });
  });
  describe('FailureCounter', () => {
    it('counts hits in a window opened by the first one; peek reads without counting', async () => {
      const key = id();
      expect(await stores.failures.peek(key)).toEqual({ count: 0, resetInMs: 0 });
      const first = await stores.failures.hit(key, 60_000);
      expect(first.count).toBe(1);
      expect(first.resetInMs).toBeGreaterThan(59_000);
      expect(first.resetInMs).toBeLessThanOrEqual(60_000);
      expect((await stores.failures.hit(key, 60_000)).count).toBe(2);
      const peeked = await stores.failures.peek(key);
      expect(peeked.count).toBe(2);
      expect(peeked.resetInMs).toBeGreaterThan(0);
      expect(peeked.resetInMs).toBeLessThanOrEqual(first.resetInMs);
      expect((await stores.failures.peek(key)).count).toBe(2);
      expect((await stores.failures.peek(id())).count).toBe(0);
    });

    it('does not extend a window with later hits, and starts again from one after it ends', async () => {
      const key = id();
      await stores.failures.hit(key, 600);
      await sleep(200);
      // A hit late in the window keeps its end: a caller at its limit is let in when the window it opened ends.
      const late = await stores.failures.hit(key, 600);
      expect(late.count).toBe(2);
      expect(late.resetInMs).toBeLessThanOrEqual(400);
      await sleep(late.resetInMs + 50);
      expect(await stores.failures.peek(key)).toEqual({ count: 0, resetInMs: 0 });
      expect((await stores.failures.hit(key, 600)).count).toBe(1);
    });

    it('gives each of many concurrent hits its own count', async () => {
      const key = id();
      const windows = await Promise.all(Array.from({ length: 25 }, () => stores.failures.hit(key, 60_000)));
      expect(windows.map((window) => window.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, index) => index + 1));
    });

    it('counts each key apart', async () => {
      const [first, second] = [id(), id()];
      await stores.failures.hit(first, 60_000);
      await stores.failures.hit(first, 60_000);
      expect((await stores.failures.hit(second, 60_000)).count).toBe(1);
    });
  });
});

describe("RedisReplayCache counts an owner's claims over a sliding window", () => {
  it("weighs the previous window's claims by how much of it is still within the last window", async () => {
    const windowMs = 60_000;
    const clock = testClock(Math.floor(Date.now() / windowMs) * windowMs);
    const replay = new RedisReplayCache(redis, prefix, { maxEntriesPerOwner: 4, windowMs }, clock);
    const owner = `client:${id()}`;
    for (let index = 0; index < 4; index++) expect(await replay.claim(id(), 5000, owner)).toBe('claimed');
    // At the start of the next window all four still weigh; halfway through, two of them do, leaving room for two.
    clock.advance(windowMs);
    expect(await replay.claim(id(), 5000, owner)).toBe('owner_limit');
    clock.advance(windowMs / 2);
    expect(await replay.claim(id(), 5000, owner)).toBe('claimed');
    expect(await replay.claim(id(), 5000, owner)).toBe('claimed');
    expect(await replay.claim(id(), 5000, owner)).toBe('owner_limit');
  });
});

describe('Redis unreachable', () => {
  it('fails closed with StoreUnavailableError instead of hanging', async () => {
    const down = createRedisClient('redis://127.0.0.1:1');
    down.on('error', () => {});
    const replay = new RedisReplayCache(down, prefix);
    // With no offline queue the command fails at once; a hang would hit the test timeout.
    await expect(replay.claim('k', 1000, 'owner')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(new RedisFailureCounter(down, prefix).hit('k', 1000)).rejects.toBeInstanceOf(StoreUnavailableError);
    down.disconnect();
  });
});
