import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../../config/schema.js';
import { StoreUnavailableError } from '../ports.js';
import { assertNoEviction, failFastOptions, reconnectDelay } from './client.js';
import type { RedisClient } from './scripts.js';

/** The Redis the stores use, whichever its shape: one server, a Sentinel-managed master, or a Cluster. */
export interface RedisConnection {
  client: RedisClient;
  /** What it is and where, without passwords, for messages: "Redis at redis://…", "Redis Cluster at …". */
  description: string;
  connect(): Promise<void>;
  /** Throws EvictingRedisError naming the server unless every master's maxmemory-policy is noeviction. */
  assertNoEviction(): Promise<void>;
  /** Throws StoreUnavailableError unless every master answers (and, on Cluster, says the cluster is ok). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

type StoreConfig = Config['store'];

/** The connection `store` describes: redisCluster, else redisSentinel, else redisUrl. */
export function createRedisConnection(store: StoreConfig): RedisConnection {
  if (store.redisCluster) return clusterConnection(store.redisCluster.nodes);
  if (store.redisSentinel) return sentinelConnection(store.redisSentinel);
  return serverConnection(
    new Redis(store.redisUrl, { lazyConnect: true, ...failFastOptions, retryStrategy: reconnectDelay }),
    `Redis at ${redactUrl(store.redisUrl)}`,
  );
}

/** The ioredis options of a Sentinel-managed master (exported for the unit test of the mapping). */
export function sentinelOptions(sentinel: NonNullable<StoreConfig['redisSentinel']>): RedisOptions {
  return {
    sentinels: sentinel.sentinels.map(({ host, port }) => ({ host, port })),
    name: sentinel.name,
    ...(sentinel.username !== undefined ? { username: sentinel.username } : {}),
    ...(sentinel.password !== undefined ? { password: sentinel.password } : {}),
    ...(sentinel.sentinelPassword !== undefined ? { sentinelPassword: sentinel.sentinelPassword } : {}),
    lazyConnect: true,
    ...failFastOptions,
    retryStrategy: reconnectDelay,
    // Keeps asking the sentinels while none answers, as retryStrategy does for the server.
    sentinelRetryStrategy: reconnectDelay,
  };
}

function sentinelConnection(sentinel: NonNullable<StoreConfig['redisSentinel']>): RedisConnection {
  const where = sentinel.sentinels.map(({ host, port }) => `${host}:${port}`).join(', ');
  return serverConnection(new Redis(sentinelOptions(sentinel)), `Redis master ${sentinel.name} through Sentinel at ${where}`);
}

function serverConnection(client: Redis, description: string): RedisConnection {
  // Errors surface where they matter: each failing command is logged and answered 503, and /readyz reports 503.
  client.on('error', () => {});
  return {
    client,
    description,
    connect: async () => {
      await client.connect();
    },
    assertNoEviction: () => assertNoEviction(client, description),
    ping: async () => {
      await client.ping();
    },
    close: () => quit(client),
  };
}

/** The startup nodes and the options every node connection shares, from the configured URLs. */
export function clusterSettings(urls: readonly string[]): { nodes: Array<{ host: string; port: number }>; redisOptions: RedisOptions } {
  const parsed = urls.map((url) => new URL(url));
  const nodes = parsed.map((url) => ({ host: url.hostname, port: url.port === '' ? 6379 : Number(url.port) }));
  const first = parsed[0]!;
  const redisOptions: RedisOptions = { ...failFastOptions };
  if (first.username) redisOptions.username = decodeURIComponent(first.username);
  if (first.password) redisOptions.password = decodeURIComponent(first.password);
  if (first.protocol === 'rediss:') redisOptions.tls = {};
  return { nodes, redisOptions };
}

function clusterConnection(urls: readonly string[]): RedisConnection {
  const { nodes, redisOptions } = clusterSettings(urls);
  const cluster = new Cluster(nodes, {
    lazyConnect: true,
    // As for one server: commands fail at once while the cluster is not ready, they do not queue.
    enableOfflineQueue: false,
    clusterRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: 2000,
    redisOptions,
  });
  cluster.on('error', () => {});
  cluster.on('node error', () => {});
  const masters = (): Redis[] => {
    const found = cluster.nodes('master');
    if (found.length === 0) throw new StoreUnavailableError('Redis Cluster: no master known');
    return found;
  };
  const name = (node: Redis) => `Redis Cluster master ${node.options.host}:${node.options.port}`;
  return {
    client: cluster,
    description: `Redis Cluster at ${nodes.map(({ host, port }) => `${host}:${port}`).join(', ')}`,
    connect: async () => {
      await cluster.connect();
    },
    // Every master holds some of the keys: each one must keep them.
    assertNoEviction: async () => {
      for (const node of masters()) await assertNoEviction(node, name(node));
    },
    ping: async () => {
      await Promise.all(
        masters().map(async (node) => {
          const info = (await node.call('CLUSTER', 'INFO')) as string;
          const state = /^cluster_state:(\S+)/m.exec(info)?.[1];
          if (state !== 'ok') throw new StoreUnavailableError(`${name(node)}: cluster_state:${state ?? 'unknown'}`);
        }),
      );
    },
    close: () => quit(cluster),
  };
}

async function quit(client: RedisClient): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}

/** A Redis URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an invalid URL';
  }
}
