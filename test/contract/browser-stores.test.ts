import { randomBytes } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MemoryConsentStore } from '../../src/stores/memory/consent-store.js';
import { MemoryEndedInteractions } from '../../src/stores/memory/ended-interactions.js';
import { MemorySessionStore } from '../../src/stores/memory/session-store.js';
import { systemClock } from '../../src/lib/clock.js';
import {
  StoreUnavailableError,
  type ConsentStore,
  type EndedInteractions,
  type SessionRecord,
  type SessionStore,
} from '../../src/stores/ports.js';
import { createRedisClient } from '../../src/stores/redis/client.js';
import { createRedisConnection, type RedisConnection } from '../../src/stores/redis/connection.js';
import type { RedisClient } from '../../src/stores/redis/scripts.js';
import { RedisConsentStore } from '../../src/stores/redis/consent-store.js';
import { RedisEndedInteractions } from '../../src/stores/redis/ended-interactions.js';
import { RedisSessionStore } from '../../src/stores/redis/session-store.js';
import { testClusterNodes } from '../helpers/redis-cluster.js';

/**
 * The ports of the browser sign-in, one contract for the memory and the Redis adapters. Each
 * backend is reached as two instances would reach it (Redis: two connections), so "at once"
 * means what it means behind a load balancer.
 */
interface BrowserStores {
  sessions: SessionStore;
  consents: ConsentStore;
  ended: EndedInteractions;
}

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `dpop-oidc-test:${randomBytes(6).toString('hex')}:`;
const connections: RedisClient[] = [];
// The local three-node cluster of test/setup/redis-cluster.ts, reached over two connections too.
const clusterNodes = testClusterNodes();
const clusters: RedisConnection[] = [];

beforeAll(async () => {
  for (let index = 0; index < 2; index++) {
    const redis = createRedisClient(redisUrl);
    await redis.connect();
    connections.push(redis);
    if (clusterNodes) {
      const cluster = createRedisConnection(parseConfig({ store: { type: 'redis', redisCluster: { nodes: clusterNodes } } }).store);
      await cluster.connect();
      clusters.push(cluster);
    }
  }
});
afterAll(async () => {
  const keys = await connections[0]!.keys(`${prefix}*`);
  if (keys.length > 0) await connections[0]!.del(...keys);
  for (const redis of connections) redis.disconnect();
  if (clusters[0]) {
    const client = clusters[0].client as Cluster;
    for (const node of client.nodes('master')) for (const key of await node.keys(`${prefix}*`)) await client.del(key);
  }
  for (const cluster of clusters) await cluster.close();
});

const redisStores = (redis: RedisClient): BrowserStores => ({
  sessions: new RedisSessionStore(redis, prefix),
  consents: new RedisConsentStore(redis, prefix),
  ended: new RedisEndedInteractions(redis, prefix),
});

/** Two instances on one backend: memory has one process, so both are the same stores. */
const factories: Array<[string, () => [BrowserStores, BrowserStores]]> = [
  [
    'memory',
    () => {
      const stores = {
        sessions: new MemorySessionStore(1000, systemClock),
        consents: new MemoryConsentStore(1000, systemClock),
        ended: new MemoryEndedInteractions(1000, systemClock),
      };
      return [stores, stores];
    },
  ],
  ['redis', () => [redisStores(connections[0]!), redisStores(connections[1]!)]],
  ...(clusterNodes
    ? ([['redis-cluster', () => [redisStores(clusters[0]!.client), redisStores(clusters[1]!.client)]]] as Array<
        [string, () => [BrowserStores, BrowserStores]]
      >)
    : []),
];

const id = () => randomBytes(12).toString('base64url');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const session = (): SessionRecord => ({ id: id(), sub: 'alice', authTime: 1_700_000_000 });

describe.each(factories)('%s adapters of the browser-flow ports', (_name, make) => {
  let a: BrowserStores;
  let b: BrowserStores;
  beforeAll(() => {
    [a, b] = make();
  });

  describe('SessionStore', () => {
    it('creates, finds (from another instance) and ends a session', async () => {
      const record = session();
      await a.sessions.create(record, 5000);
      expect(await b.sessions.find(record.id)).toEqual(record);
      await b.sessions.end(record.id);
      expect(await a.sessions.find(record.id)).toBeUndefined();
      await expect(a.sessions.end(record.id)).resolves.toBeUndefined();
    });

    it('expires a session after its TTL', async () => {
      const record = session();
      await a.sessions.create(record, 100);
      await sleep(150);
      expect(await a.sessions.find(record.id)).toBeUndefined();
    });

    it('never replaces a live session: a second create under its id throws and the first stays', async () => {
      const record = session();
      await a.sessions.create(record, 5000);
      await expect(b.sessions.create({ ...record, sub: 'mallory' }, 5000)).rejects.toThrow('a session with this id exists');
      expect((await a.sessions.find(record.id))?.sub).toBe('alice');
    });

    it('of two creates at once under one id, exactly one succeeds', async () => {
      const record = session();
      const results = await Promise.allSettled([a.sessions.create(record, 5000), b.sessions.create({ ...record, sub: 'bob' }, 5000)]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    });

    it('keeps its own copy: changing the record created or found changes nothing stored', async () => {
      const record = session();
      await a.sessions.create(record, 5000);
      record.sub = 'mallory';
      const found = (await a.sessions.find(record.id))!;
      expect(found.sub).toBe('alice');
      found.authTime = 0;
      found.sub = 'mallory';
      expect(await a.sessions.find(record.id)).toEqual({ id: record.id, sub: 'alice', authTime: 1_700_000_000 });
    });
  });

  describe('ConsentStore', () => {
    it('adds granted scopes to those granted before, per user and client', async () => {
      const sub = id();
      expect(await a.consents.scopes(sub, 'spa')).toEqual([]);
      await a.consents.grant(sub, 'spa', ['openid', 'profile'], 5000);
      await b.consents.grant(sub, 'spa', ['profile', 'email'], 5000);
      expect((await a.consents.scopes(sub, 'spa')).sort()).toEqual(['email', 'openid', 'profile']);
      expect(await a.consents.scopes(sub, 'web')).toEqual([]);
    });

    it('keeps users and clients apart whatever their characters ("a b" + "c" is not "a" + "b c")', async () => {
      const sub = id();
      await a.consents.grant(`${sub} b`, 'c', ['openid'], 5000);
      expect(await a.consents.scopes(sub, 'b c')).toEqual([]);
      await a.consents.grant(`${sub}}{x`, 'c', ['email'], 5000);
      expect(await a.consents.scopes(`${sub}}{x`, 'c')).toEqual(['email']);
    });

    it('loses no grant made at the same time on two instances (an atomic union, not get then set)', async () => {
      const sub = id();
      const scopes = Array.from({ length: 20 }, (_, index) => `scope-${index}`);
      await Promise.all(scopes.map((scope, index) => (index % 2 ? a : b).consents.grant(sub, 'spa', [scope], 5000)));
      expect((await a.consents.scopes(sub, 'spa')).sort()).toEqual([...scopes].sort());
    });

    it('renews the whole consent at each grant, and forgets it after its TTL', async () => {
      const sub = id();
      await a.consents.grant(sub, 'spa', ['openid'], 400);
      await sleep(250);
      await a.consents.grant(sub, 'spa', ['email'], 400);
      // Past the first grant's 400 ms: the second one renewed both scopes.
      await sleep(250);
      expect((await a.consents.scopes(sub, 'spa')).sort()).toEqual(['email', 'openid']);
      await sleep(300);
      expect(await a.consents.scopes(sub, 'spa')).toEqual([]);
    });

    it('keeps its own copy: changing the scopes granted or read changes nothing stored', async () => {
      const sub = id();
      const granted = ['openid'];
      await a.consents.grant(sub, 'spa', granted, 5000);
      granted.push('email');
      const read = await a.consents.scopes(sub, 'spa');
      expect(read).toEqual(['openid']);
      read.push('offline_access');
      expect(await a.consents.scopes(sub, 'spa')).toEqual(['openid']);
    });
  });

  describe('EndedInteractions', () => {
    it('ends an interaction once: true the first time, false after, on any instance', async () => {
      const interaction = id();
      expect(await a.ended.end(interaction, 5000)).toBe(true);
      expect(await b.ended.end(interaction, 5000)).toBe(false);
      expect(await a.ended.end(interaction, 5000)).toBe(false);
      expect(await a.ended.end(id(), 5000)).toBe(true);
    });

    it('of two ends at once on two instances, exactly one wins', async () => {
      for (let round = 0; round < 20; round++) {
        const interaction = id();
        const results = await Promise.all([a.ended.end(interaction, 5000), b.ended.end(interaction, 5000)]);
        expect(results.filter(Boolean)).toHaveLength(1);
      }
    });

    it('forgets the marker after its TTL (the sealed interaction has expired by then)', async () => {
      const interaction = id();
      expect(await a.ended.end(interaction, 100)).toBe(true);
      await sleep(150);
      expect(await a.ended.end(interaction, 100)).toBe(true);
    });
  });
});

describe('memory adapters of the browser-flow ports are bounded and fail closed', () => {
  it('refuses a session, a consent or an ended marker beyond the bound with StoreUnavailableError', async () => {
    const sessions = new MemorySessionStore(1, systemClock);
    const consents = new MemoryConsentStore(1, systemClock);
    const ended = new MemoryEndedInteractions(1, systemClock);
    await sessions.create(session(), 5000);
    await consents.grant('alice', 'spa', ['openid'], 5000);
    await ended.end(id(), 5000);
    await expect(sessions.create(session(), 5000)).rejects.toThrow(StoreUnavailableError);
    await expect(consents.grant('bob', 'spa', ['openid'], 5000)).rejects.toThrow(StoreUnavailableError);
    await expect(ended.end(id(), 5000)).rejects.toThrow(StoreUnavailableError);
    // A grant to a consent already held is no new entry.
    await expect(consents.grant('alice', 'spa', ['email'], 5000)).resolves.toBeUndefined();
  });
});

describe('Redis adapters of the browser-flow ports keep each entity under one hash tag (Redis Cluster)', () => {
  it('names every key of a session, a consent and an ended interaction with a {…} tag', async () => {
    const stores = redisStores(connections[0]!);
    const record = session();
    const sub = id();
    const interaction = id();
    await stores.sessions.create(record, 5000);
    await stores.consents.grant(sub, 'spa', ['openid'], 5000);
    await stores.ended.end(interaction, 5000);
    const keys = await connections[0]!.keys(`${prefix}*`);
    expect(keys).toContain(`${prefix}{session:${record.id}}`);
    expect(keys).toContain(`${prefix}{interaction:${interaction}}:ended`);
    expect(keys.filter((key) => /^\{consent:[A-Za-z0-9_-]{43}\}$/.test(key.slice(prefix.length))).length).toBeGreaterThan(0);
    expect(await connections[0]!.pttl(`${prefix}{session:${record.id}}`)).toBeGreaterThan(4000);
  });
});
