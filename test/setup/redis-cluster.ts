import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createRedisClient } from '../../src/stores/redis/client.js';
import { hasCommand, portInUse, runToEnd, spawnRedisServer, type SpawnedServer } from '../helpers/redis-servers.js';

/**
 * Global setup: a local three-node Redis Cluster (no replicas) on 127.0.0.1:7101-7103, started
 * once for the whole run and killed after it, for the tests that run the stores on Cluster
 * (test/contract/stores.test.ts, test/http/redis-cluster.test.ts). They read `redisCluster`:
 * the node URLs, or why there is no cluster (no redis-server here: they skip; ports taken: they fail).
 */
export type RedisClusterFixture = { nodes: string[] } | { skip: string } | { error: string };

declare module 'vitest' {
  export interface ProvidedContext {
    redisCluster: RedisClusterFixture;
  }
}

export const clusterPorts = [7101, 7102, 7103];

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!hasCommand('redis-server') || !hasCommand('redis-cli')) {
    project.provide('redisCluster', { skip: 'redis-server or redis-cli not found: the Redis Cluster tests are skipped' });
    return async () => {};
  }
  const taken: number[] = [];
  for (const port of clusterPorts) if (await portInUse(port)) taken.push(port);
  if (taken.length > 0) {
    project.provide('redisCluster', {
      error: `cannot start the test Redis Cluster: port ${taken.join(', ')} already in use (another test run, or a leftover redis-server)`,
    });
    return async () => {};
  }
  const dir = mkdtempSync(join(tmpdir(), 'dpop-oidc-cluster-'));
  const servers: SpawnedServer[] = [];
  const teardown = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    servers.push(
      ...(await Promise.all(
        clusterPorts.map((port) =>
          spawnRedisServer(
            [
              '--port',
              String(port),
              '--bind',
              '127.0.0.1',
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              join(dir, `nodes-${port}.conf`),
              '--dir',
              dir,
              '--save',
              '',
              '--appendonly',
              'no',
              '--daemonize',
              'no',
            ],
            `cluster node redis-server on ${port}`,
          ),
        ),
      )),
    );
    const addresses = clusterPorts.map((port) => `127.0.0.1:${port}`);
    await runToEnd('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], 30_000);
    await waitForClusterOk(clusterPorts, 15_000);
  } catch (error) {
    await teardown();
    throw error;
  }
  project.provide('redisCluster', { nodes: clusterPorts.map((port) => `redis://127.0.0.1:${port}`) });
  return teardown;
}

/** Every node says `cluster_state:ok` (each has learnt the whole slot map). */
async function waitForClusterOk(ports: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    const client = createRedisClient(`redis://127.0.0.1:${port}`);
    await client.connect();
    try {
      while (!/^cluster_state:ok/m.test((await client.call('CLUSTER', 'INFO')) as string)) {
        if (Date.now() > deadline) throw new Error(`the test Redis Cluster node on ${port} is not ok after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      client.disconnect();
    }
  }
}
