import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { clusterSettings, createRedisConnection, sentinelOptions } from '../../src/stores/redis/connection.js';

/** store.redisCluster and store.redisSentinel: what the config accepts, and the ioredis client it builds. */
describe('Redis topology settings', () => {
  const configFile = () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dpop-oidc-redis-config-')), 'config.json');
    writeFileSync(file, JSON.stringify({ store: { type: 'redis' } }));
    return file;
  };

  it('builds a Sentinel client from store.redisSentinel: the sentinels, the master name, both passwords, failing fast', () => {
    const store = parseConfig({
      store: {
        type: 'redis',
        redisSentinel: {
          sentinels: [{ host: '10.0.0.5', port: 26380 }, { host: 'sentinel-2' }],
          name: 'dpop',
          password: 'redis-secret',
          sentinelPassword: 'sentinel-secret',
        },
      },
    }).store;
    const connection = createRedisConnection(store);
    expect(connection.client).toBeInstanceOf(Redis);
    expect((connection.client as Redis).options).toMatchObject({
      sentinels: [
        { host: '10.0.0.5', port: 26380 },
        { host: 'sentinel-2', port: 26379 },
      ],
      name: 'dpop',
      password: 'redis-secret',
      sentinelPassword: 'sentinel-secret',
      enableOfflineQueue: false,
      commandTimeout: 1000,
      lazyConnect: true,
    });
    expect(connection.description).toBe('Redis master dpop through Sentinel at 10.0.0.5:26380, sentinel-2:26379');
    expect(sentinelOptions(store.redisSentinel!).username).toBeUndefined();
    connection.client.disconnect();
  });

  it('builds a Cluster client from store.redisCluster: the nodes, and the first URL’s credentials and TLS for every node', () => {
    const store = parseConfig({
      store: { type: 'redis', redisCluster: { nodes: ['rediss://app:p%40ss@10.0.0.1:7000', 'redis://10.0.0.2'] } },
    }).store;
    expect(clusterSettings(store.redisCluster!.nodes)).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
      ],
      redisOptions: {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: 1000,
        connectTimeout: 2000,
        username: 'app',
        password: 'p@ss',
        tls: {},
      },
    });
    const connection = createRedisConnection(store);
    expect(connection.client).toBeInstanceOf(Cluster);
    expect(connection.description).toBe('Redis Cluster at 10.0.0.1:7000, 10.0.0.2:6379');
    connection.client.disconnect();
  });

  it('keeps redisUrl for one server when neither is set', () => {
    const connection = createRedisConnection(
      parseConfig({ store: { type: 'redis', redisUrl: 'redis://:secret@redis.internal:6380' } }).store,
    );
    expect(connection.client).toBeInstanceOf(Redis);
    expect((connection.client as Redis).options).toMatchObject({ host: 'redis.internal', port: 6380, password: 'secret' });
    expect(connection.description).toBe('Redis at redis://:***@redis.internal:6380');
    connection.client.disconnect();
  });

  it('refuses redisCluster and redisSentinel together', () => {
    expect(() =>
      parseConfig({
        store: { type: 'redis', redisCluster: { nodes: ['redis://a:1'] }, redisSentinel: { sentinels: [{ host: 'b' }], name: 'm' } },
      }),
    ).toThrow('store.redisSentinel: set redisCluster or redisSentinel, not both');
  });

  it('refuses a key prefix with braces: they would move the hash tags that keep a script in one slot', () => {
    expect(() => parseConfig({ store: { keyPrefix: 'tenant-{a}:' } })).toThrow('store.keyPrefix: must not contain { or }');
    expect(parseConfig({ store: { keyPrefix: 'tenant-a:' } }).store.keyPrefix).toBe('tenant-a:');
  });

  it('reads REDIS_CLUSTER_NODES (comma-separated URLs), REDIS_SENTINELS (host:port, comma-separated) and REDIS_SENTINEL_NAME', () => {
    const file = configFile();
    const plain = loadConfig({ CONFIG_FILE: file }).store;
    expect([plain.redisCluster, plain.redisSentinel]).toEqual([undefined, undefined]);
    expect(
      loadConfig({ CONFIG_FILE: file, REDIS_CLUSTER_NODES: 'redis://10.0.0.1:7000, redis://10.0.0.2:7000' }).store.redisCluster,
    ).toEqual({
      nodes: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000'],
    });
    expect(
      loadConfig({ CONFIG_FILE: file, REDIS_SENTINELS: '10.0.0.5:26380,sentinel-2', REDIS_SENTINEL_NAME: 'dpop' }).store.redisSentinel,
    ).toEqual({
      sentinels: [
        { host: '10.0.0.5', port: 26380 },
        { host: 'sentinel-2', port: 26379 },
      ],
      name: 'dpop',
    });
    expect(
      loadConfig({ CONFIG_FILE: file, REDIS_SENTINELS: '[fd00::5]:26380', REDIS_SENTINEL_NAME: 'dpop' }).store.redisSentinel?.sentinels,
    ).toEqual([{ host: 'fd00::5', port: 26380 }]);
    expect(() => loadConfig({ CONFIG_FILE: file, REDIS_SENTINELS: 'sentinel-1:26379' })).toThrow('store.redisSentinel.name');
    expect(() => loadConfig({ CONFIG_FILE: file, REDIS_SENTINELS: 'sentinel-1:port', REDIS_SENTINEL_NAME: 'dpop' })).toThrow(
      'REDIS_SENTINELS (store.redisSentinel.sentinels): expected host:port or [v6]:port, comma-separated, got "sentinel-1:port"',
    );
  });
});
