import { inject } from 'vitest';

/**
 * The node URLs of the test Redis Cluster (test/setup/redis-cluster.ts), or undefined when this
 * machine has no redis-server (the caller skips, and this says so once). A cluster that could
 * not start is an error, not a skip.
 */
export function testClusterNodes(): string[] | undefined {
  const cluster = inject('redisCluster');
  if ('nodes' in cluster) return cluster.nodes;
  if ('error' in cluster) throw new Error(cluster.error);
  console.warn(cluster.skip);
  return undefined;
}
