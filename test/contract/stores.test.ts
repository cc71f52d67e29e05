import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newGrantTokenId } from '../../src/lib/grant-tag.js';
import { MemoryCodeStore } from '../../src/stores/memory/code-store.js';
import { MemoryFailureCounter } from '../../src/stores/memory/failure-counter.js';
import { MemoryGrantStore } from '../../src/stores/memory/grant-store.js';
import { MemoryRefreshTokenStore } from '../../src/stores/memory/refresh-token-store.js';
import { MemoryReplayCache } from '../../src/stores/memory/replay-cache.js';
import { MemoryRevokedTokens } from '../../src/stores/memory/revoked-tokens.js';
import { systemClock, type Clock } from '../../src/lib/clock.js';
import {
  StoreUnavailableError,
  type AuthorizationCodeRecord,
  type CodeStore,
  type FailureCounter,
  type GrantStore,
  type RefreshTokenFamily,
  type RefreshTokenStore,
  type ReplayCache,
  type RevokedTokens,
} from '../../src/stores/ports.js';
import { parseConfig } from '../../src/config/load.js';
import { createRedisClient } from '../../src/stores/redis/client.js';
import { createRedisConnection, type RedisConnection } from '../../src/stores/redis/connection.js';
import type { RedisClient } from '../../src/stores/redis/scripts.js';
import { RedisCodeStore } from '../../src/stores/redis/code-store.js';
import { RedisFailureCounter } from '../../src/stores/redis/failure-counter.js';
import { RedisGrantStore } from '../../src/stores/redis/grant-store.js';
import { RedisRefreshTokenStore } from '../../src/stores/redis/refresh-token-store.js';
import { RedisReplayCache } from '../../src/stores/redis/replay-cache.js';
import { RedisRevokedTokens } from '../../src/stores/redis/revoked-tokens.js';
import { testClock } from '../helpers/app.js';
import { testClusterNodes } from '../helpers/redis-cluster.js';

/**
 * One contract for every adapter of every port: the in-memory default, Redis (a real server) and
 * Redis Cluster (three local nodes started by test/setup/redis-cluster.ts, where every script
 * must find its keys in one slot).
 */
interface Adapters {
  replay: ReplayCache;
  revoked: RevokedTokens;
  codes: CodeStore;
  refresh: RefreshTokenStore;
  grants: GrantStore;
  failures: FailureCounter;
}

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `dpop-oidc-test:${randomBytes(6).toString('hex')}:`;
let redis: Redis;
const clusterNodes = testClusterNodes();
let cluster: RedisConnection | undefined;

beforeAll(async () => {
  redis = createRedisClient(redisUrl);
  await redis.connect();
  if (clusterNodes) {
    cluster = createRedisConnection(parseConfig({ store: { type: 'redis', redisCluster: { nodes: clusterNodes } } }).store);
    await cluster.connect();
  }
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  if (cluster) {
    const client = cluster.client as Cluster;
    // KEYS on each master; DEL one key at a time (a multi-key DEL must stay in one slot).
    for (const node of client.nodes('master')) for (const key of await node.keys(`${prefix}*`)) await client.del(key);
    await cluster.close();
  }
});

const clusterClient = (): RedisClient => cluster!.client;

const redisAdapters = (client: () => RedisClient) => (): Adapters => ({
  replay: new RedisReplayCache(client(), prefix),
  revoked: new RedisRevokedTokens(client(), prefix, systemClock),
  codes: new RedisCodeStore(client(), prefix),
  refresh: new RedisRefreshTokenStore(client(), prefix, systemClock),
  grants: new RedisGrantStore(client(), prefix, systemClock),
  failures: new RedisFailureCounter(client(), prefix),
});

const factories: Array<[string, () => Adapters]> = [
  [
    'memory',
    () => {
      const revoked = new MemoryRevokedTokens(1000, systemClock);
      return {
        replay: new MemoryReplayCache(1000, systemClock),
        revoked,
        codes: new MemoryCodeStore(1000, systemClock),
        refresh: new MemoryRefreshTokenStore(1000, systemClock),
        grants: new MemoryGrantStore(1000, systemClock, revoked),
        failures: new MemoryFailureCounter(1000, systemClock),
      };
    },
  ],
  ['redis', redisAdapters(() => redis)],
  ...(clusterNodes ? ([['redis-cluster', redisAdapters(clusterClient)]] as Array<[string, () => Adapters]>) : []),
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

function refreshFamily(ttlMs = 60_000): RefreshTokenFamily {
  const now = Date.now();
  return {
    grantId: id(),
    clientId: 'spa',
    scopes: ['openid', 'offline_access'],
    jkt: undefined,
    expiresAtMs: now + ttlMs,
    generation: 0,
    currentHash: id(),
    previousHash: undefined,
    issuedAtMs: now,
    sealedCurrent: id(),
  };
}

function successor(jkt: string | undefined = 'j'.repeat(43)) {
  const now = Date.now();
  return { hash: id(), sealed: id(), jkt, issuedAtMs: now, expiresAtMs: now + 60_000 };
}

function grantRecord() {
  return { id: id(), clientId: 'spa', sub: 'alice', scopes: ['openid', 'offline_access'], authTime: 1 };
}

/** Replay caches whose owners may hold `maxEntriesPerOwner` entries (the window is the DPoP default, 65 s). */
const boundedReplayCaches: Record<string, (maxEntriesPerOwner: number, clock: Clock) => ReplayCache> = {
  memory: (maxEntriesPerOwner, clock) => new MemoryReplayCache(1000, clock, { maxEntriesPerOwner }),
  redis: (maxEntriesPerOwner, clock) => new RedisReplayCache(redis, prefix, { maxEntriesPerOwner, windowMs: 65_000 }, clock),
  'redis-cluster': (maxEntriesPerOwner, clock) =>
    new RedisReplayCache(clusterClient(), prefix, { maxEntriesPerOwner, windowMs: 65_000 }, clock),
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
      const results = await Promise.all(Array.from({ length: 20 }, () => Promise.resolve(stores.replay.claim(key, 5000, owner))));
      expect(results.filter((result) => result === 'claimed')).toHaveLength(1);
    });

    it('answers replayed for a key claimed under another owner: the same proof sent with another credential', async () => {
      const key = id();
      expect(await stores.replay.claim(key, 5000, `client:${id()}`)).toBe('claimed');
      expect(await stores.replay.claim(key, 5000, `grant:${id()}`)).toBe('replayed');
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
        const results = await Promise.all(Array.from({ length: 30 }, () => Promise.resolve(replay.claim(id(), 5000, owner))));
        expect(results.filter((result) => result === 'claimed')).toHaveLength(5);
        expect(results.filter((result) => result === 'owner_limit')).toHaveLength(25);
      });

      it('does not charge a replay to the owner that presented it: its share stays free', async () => {
        const replay = bounded(1);
        const key = id();
        expect(await replay.claim(key, 5000, `client:${id()}`)).toBe('claimed');
        const other = `grant:${id()}`;
        expect(await replay.claim(key, 5000, other)).toBe('replayed');
        expect(await replay.claim(id(), 5000, other)).toBe('claimed');
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
    const redemption = { atMs: 1_700_000_000_000, jkt: 'k'.repeat(43) };

    it('peeks without consuming, consumes once, then reports reuse', async () => {
      const hash = id();
      const record = codeRecord();
      await stores.codes.save(hash, record, 5000);
      expect(await stores.codes.peek(hash)).toEqual({ record, used: false });
      expect(await stores.codes.consume(hash, redemption)).toBe('consumed');
      expect(await stores.codes.consume(hash, redemption)).toBe('reused');
      expect((await stores.codes.peek(hash))?.used).toBe(true);
      expect(await stores.codes.consume(id(), redemption)).toBe('missing');
    });

    it('keeps the first redemption: a later consume does not replace who redeemed it, nor when', async () => {
      const hash = id();
      await stores.codes.save(hash, codeRecord(), 5000);
      expect(await stores.codes.consume(hash, redemption)).toBe('consumed');
      expect(await stores.codes.consume(hash, { atMs: redemption.atMs + 5, jkt: undefined })).toBe('reused');
      expect((await stores.codes.peek(hash))?.redemption).toEqual(redemption);

      const unbound = id();
      await stores.codes.save(unbound, codeRecord(), 5000);
      await stores.codes.consume(unbound, { atMs: 7, jkt: undefined });
      expect((await stores.codes.peek(unbound))?.redemption).toEqual({ atMs: 7, jkt: undefined });
    });

    it('lets exactly one of many concurrent redemptions consume a code, and records that one', async () => {
      const hash = id();
      await stores.codes.save(hash, codeRecord(), 5000);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, index) => stores.codes.consume(hash, { atMs: index, jkt: `key-${index}` })),
      );
      expect(results.filter((result) => result === 'consumed')).toHaveLength(1);
      expect(results.filter((result) => result === 'reused')).toHaveLength(19);
      const winner = results.indexOf('consumed');
      expect((await stores.codes.peek(hash))?.redemption).toEqual({ atMs: winner, jkt: `key-${winner}` });
    });

    it('forgets a code after its TTL', async () => {
      const hash = id();
      await stores.codes.save(hash, codeRecord(), 100);
      await sleep(150);
      expect(await stores.codes.peek(hash)).toBeUndefined();
      expect(await stores.codes.consume(hash, redemption)).toBe('missing');
    });

    it('stores copies: changing the saved or the returned record does not change the store', async () => {
      const hash = id();
      const record = codeRecord();
      const saved = structuredClone(record);
      await stores.codes.save(hash, saved, 5000);
      saved.scopes.push('admin');
      saved.clientId = 'other';
      const peeked = (await stores.codes.peek(hash))!;
      expect(peeked.record).toEqual(record);
      peeked.record.scopes.push('admin');
      expect((await stores.codes.peek(hash))?.record).toEqual(record);
    });
  });

  describe('RefreshTokenStore (one record per grant: current, previous, generation)', () => {
    it('creates a family once: a second create returns the first, unchanged', async () => {
      const familyId = id();
      const family = refreshFamily();
      expect(await stores.refresh.create(familyId, family)).toEqual(family);
      expect(await stores.refresh.find(familyId)).toEqual(family);
      expect(await stores.refresh.create(familyId, { ...refreshFamily(), grantId: family.grantId })).toEqual(family);
      expect(await stores.refresh.find(id())).toBeUndefined();
    });

    it('rotates the current token only: the one it replaced is then previous, any older one stale', async () => {
      const familyId = id();
      const family = refreshFamily();
      await stores.refresh.create(familyId, family);
      const first = successor();
      const rotated = await stores.refresh.rotate(familyId, family.currentHash, first);
      const afterFirst: RefreshTokenFamily = {
        ...family,
        jkt: first.jkt,
        expiresAtMs: first.expiresAtMs,
        generation: 1,
        currentHash: first.hash,
        previousHash: family.currentHash,
        issuedAtMs: first.issuedAtMs,
        sealedCurrent: first.sealed,
      };
      expect(rotated).toEqual({ outcome: 'rotated', family: afterFirst });
      expect(await stores.refresh.find(familyId)).toEqual(afterFirst);
      // The token just replaced: nothing changes, the caller learns where it stands.
      expect(await stores.refresh.rotate(familyId, family.currentHash, successor())).toEqual({ outcome: 'previous', family: afterFirst });

      const second = successor();
      expect((await stores.refresh.rotate(familyId, first.hash, second)).outcome).toBe('rotated');
      const afterSecond = await stores.refresh.find(familyId);
      expect(afterSecond).toMatchObject({ generation: 2, currentHash: second.hash, previousHash: first.hash });
      expect(await stores.refresh.rotate(familyId, family.currentHash, successor())).toEqual({ outcome: 'stale', family: afterSecond });
      expect(await stores.refresh.rotate(familyId, id(), successor())).toEqual({ outcome: 'stale', family: afterSecond });
      expect(await stores.refresh.rotate(id(), family.currentHash, successor())).toEqual({ outcome: 'missing' });
    });

    it('keeps an unbound successor unbound', async () => {
      const familyId = id();
      const family = refreshFamily();
      await stores.refresh.create(familyId, family);
      const next = { ...successor(), jkt: undefined };
      await stores.refresh.rotate(familyId, family.currentHash, next);
      expect((await stores.refresh.find(familyId))?.jkt).toBeUndefined();
    });

    it('lets exactly one of concurrent rotations of one token win; the others see it as previous, with the winner as current', async () => {
      const familyId = id();
      const family = refreshFamily();
      await stores.refresh.create(familyId, family);
      const nexts = Array.from({ length: 20 }, () => successor());
      const results = await Promise.all(nexts.map((next) => stores.refresh.rotate(familyId, family.currentHash, next)));
      const winners = results.filter((result) => result.outcome === 'rotated');
      expect(winners).toHaveLength(1);
      const winner = nexts[results.findIndex((result) => result.outcome === 'rotated')]!;
      for (const result of results.filter((result) => result.outcome !== 'rotated')) {
        expect(result).toMatchObject({
          outcome: 'previous',
          family: { generation: 1, currentHash: winner.hash, sealedCurrent: winner.sealed },
        });
      }
      expect((await stores.refresh.find(familyId))?.currentHash).toBe(winner.hash);
    });

    it('lets exactly one of concurrent creates make the family; every caller gets that one', async () => {
      const familyId = id();
      const families = Array.from({ length: 10 }, () => refreshFamily());
      const results = await Promise.all(families.map((family) => stores.refresh.create(familyId, family)));
      const stored = await stores.refresh.find(familyId);
      expect(families).toContainEqual(stored);
      for (const result of results) expect(result).toEqual(stored);
    });

    it('stores copies: changing the created, the found or the rotated family does not change the store', async () => {
      const familyId = id();
      const family = refreshFamily();
      const created = structuredClone(family);
      const returned = await stores.refresh.create(familyId, created);
      created.scopes.push('admin');
      created.currentHash = 'changed';
      returned.scopes.push('admin');
      const found = (await stores.refresh.find(familyId))!;
      expect(found).toEqual(family);
      found.scopes.push('admin');
      found.generation = 9;
      const rotated = await stores.refresh.rotate(familyId, family.currentHash, successor());
      expect(rotated).toMatchObject({ outcome: 'rotated', family: { generation: 1, scopes: family.scopes } });
      if (rotated.outcome !== 'missing') rotated.family.scopes.push('admin');
      expect((await stores.refresh.find(familyId))?.scopes).toEqual(family.scopes);
    });

    it('forgets a family when its current token expires', async () => {
      const familyId = id();
      const family = refreshFamily(100);
      await stores.refresh.create(familyId, family);
      await sleep(150);
      expect(await stores.refresh.find(familyId)).toBeUndefined();
      expect(await stores.refresh.rotate(familyId, family.currentHash, successor())).toEqual({ outcome: 'missing' });
    });
  });

  describe('GrantStore', () => {
    it('finds an active grant, records its tokens, and revokes it with its live tokens (denied in the same step)', async () => {
      const grant = grantRecord();
      await stores.grants.create(grant, 60_000);
      expect(await stores.grants.find(grant.id)).toEqual(grant);
      const live = Date.now() + 60_000;
      const [liveJti, expiredJti] = [newGrantTokenId(grant.id), newGrantTokenId(grant.id)];
      expect(await stores.grants.addAccessToken(grant.id, { jti: liveJti, expiresAtMs: live }, 10)).toBe(true);
      expect(await stores.grants.addAccessToken(grant.id, { jti: expiredJti, expiresAtMs: Date.now() - 1 }, 10)).toBe(true);
      expect(await stores.revoked.isRevoked(liveJti)).toBe(false);
      await stores.grants.revoke(grant.id);
      expect(await stores.revoked.isRevoked(liveJti)).toBe(true);
      expect(await stores.revoked.isRevoked(expiredJti)).toBe(false);
      expect(await stores.grants.find(grant.id)).toBeUndefined();
      // A token minted while the revocation ran is refused, not recorded.
      expect(await stores.grants.addAccessToken(grant.id, { jti: newGrantTokenId(grant.id), expiresAtMs: live }, 10)).toBe(false);
    });

    it('keeps at most maxLive live tokens: the oldest is denied, and the rest still die with the grant', async () => {
      const grant = grantRecord();
      await stores.grants.create(grant, 60_000);
      const base = Date.now() + 60_000;
      const jtis = Array.from({ length: 5 }, () => newGrantTokenId(grant.id));
      for (const [index, jti] of jtis.entries()) {
        expect(await stores.grants.addAccessToken(grant.id, { jti, expiresAtMs: base + index }, 3)).toBe(true);
      }
      expect(await Promise.all(jtis.map((jti) => Promise.resolve(stores.revoked.isRevoked(jti))))).toEqual([
        true,
        true,
        false,
        false,
        false,
      ]);
      await stores.grants.revoke(grant.id);
      expect(await Promise.all(jtis.map((jti) => Promise.resolve(stores.revoked.isRevoked(jti))))).toEqual([true, true, true, true, true]);
    });

    it('counts only live tokens against maxLive: expired ones are forgotten, not denied', async () => {
      const grant = grantRecord();
      await stores.grants.create(grant, 60_000);
      const expired = newGrantTokenId(grant.id);
      await stores.grants.addAccessToken(grant.id, { jti: expired, expiresAtMs: Date.now() + 50 }, 1);
      await sleep(100);
      const live = newGrantTokenId(grant.id);
      expect(await stores.grants.addAccessToken(grant.id, { jti: live, expiresAtMs: Date.now() + 60_000 }, 1)).toBe(true);
      expect(await stores.revoked.isRevoked(expired)).toBe(false);
      expect(await stores.revoked.isRevoked(live)).toBe(false);
    });

    it('does not replace an existing grant: a second create keeps its revocation and its tokens', async () => {
      const grant = grantRecord();
      const live = Date.now() + 60_000;
      const first = newGrantTokenId(grant.id);
      await stores.grants.create(grant, 60_000);
      expect(await stores.grants.addAccessToken(grant.id, { jti: first, expiresAtMs: live }, 10)).toBe(true);
      await stores.grants.create(grant, 60_000);
      await stores.grants.revoke(grant.id);
      expect(await stores.revoked.isRevoked(first)).toBe(true);
      await stores.grants.create(grant, 60_000);
      expect(await stores.grants.find(grant.id)).toBeUndefined();
      expect(await stores.grants.addAccessToken(grant.id, { jti: newGrantTokenId(grant.id), expiresAtMs: live }, 10)).toBe(false);
    });

    it('lets a token recorded concurrently with the revocation either be denied or be refused, never slip through', async () => {
      const grant = grantRecord();
      await stores.grants.create(grant, 60_000);
      const jtis = Array.from({ length: 10 }, () => newGrantTokenId(grant.id));
      const added = await Promise.all([
        ...jtis.slice(0, 5).map((jti) => stores.grants.addAccessToken(grant.id, { jti, expiresAtMs: Date.now() + 60_000 }, 100)),
        stores.grants.revoke(grant.id).then(() => undefined),
        ...jtis.slice(5).map((jti) => stores.grants.addAccessToken(grant.id, { jti, expiresAtMs: Date.now() + 60_000 }, 100)),
      ]);
      const recorded = added.filter((result) => result !== undefined);
      for (const [index, jti] of jtis.entries()) {
        // Recorded (true) means denied by the revocation; refused (false) means never handed out.
        if (recorded[index]) expect(await stores.revoked.isRevoked(jti)).toBe(true);
      }
      expect(await stores.grants.find(grant.id)).toBeUndefined();
    });

    it('stores copies: changing the created or the found grant does not change the store', async () => {
      const grant = grantRecord();
      const created = structuredClone(grant);
      await stores.grants.create(created, 60_000);
      created.scopes.push('admin');
      const found = (await stores.grants.find(grant.id))!;
      expect(found).toEqual(grant);
      found.scopes.push('admin');
      expect(await stores.grants.find(grant.id)).toEqual(grant);
    });

    it('knows nothing of an unknown grant', async () => {
      const unknown = id();
      expect(await stores.grants.find(unknown)).toBeUndefined();
      await expect(stores.grants.revoke(unknown)).resolves.toBeUndefined();
      expect(await stores.grants.addAccessToken(unknown, { jti: newGrantTokenId(unknown), expiresAtMs: Date.now() + 1000 }, 10)).toBe(
        false,
      );
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
      const first = await stores.failures.hit(key, 600);
      await sleep(200);
      // A hit late in the window keeps its end: a caller at its limit is let in when the window it opened ends.
      const late = await stores.failures.hit(key, 600);
      expect(late.count).toBe(2);
      // An extended window would end 600 ms after the late hit; timers may fire a millisecond early.
      expect(late.resetInMs).toBeLessThan(first.resetInMs - 150);
      await sleep(late.resetInMs + 50);
      expect(await stores.failures.peek(key)).toEqual({ count: 0, resetInMs: 0 });
      expect((await stores.failures.hit(key, 600)).count).toBe(1);
    });

    it('gives each of many concurrent hits its own count', async () => {
      const key = id();
      const windows = await Promise.all(Array.from({ length: 25 }, () => Promise.resolve(stores.failures.hit(key, 60_000))));
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

describe('RedisGrantStore records only tokens whose jti names the grant', () => {
  it("refuses another jti: its denylist entry would not be in the grant's slot, where revoking the grant writes it", async () => {
    const grants = new RedisGrantStore(redis, prefix, systemClock);
    const grant = grantRecord();
    await grants.create(grant, 60_000);
    const expiresAtMs = Date.now() + 60_000;
    await expect(grants.addAccessToken(grant.id, { jti: id(), expiresAtMs }, 10)).rejects.toThrow(
      'the access token jti does not name its grant',
    );
    await expect(grants.addAccessToken(grant.id, { jti: newGrantTokenId(id()), expiresAtMs }, 10)).rejects.toThrow(
      'does not name its grant',
    );
    expect(await grants.addAccessToken(grant.id, { jti: newGrantTokenId(grant.id), expiresAtMs }, 10)).toBe(true);
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

  it('fails closed on a Redis Cluster none of whose nodes answers', async () => {
    const down = createRedisConnection(parseConfig({ store: { type: 'redis', redisCluster: { nodes: ['redis://127.0.0.1:1'] } } }).store);
    await expect(down.connect()).rejects.toThrow();
    const replay = new RedisReplayCache(down.client, prefix, { maxEntriesPerOwner: 10, windowMs: 65_000 });
    await expect(replay.claim('k', 1000, 'owner')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(new RedisGrantStore(down.client, prefix, systemClock).revoke('g')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(down.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    down.client.disconnect();
  });
});
