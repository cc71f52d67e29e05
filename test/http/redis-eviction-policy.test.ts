import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { createStores } from '../../src/stores/create-stores.js';
import { systemClock } from '../../src/lib/clock.js';
import { createRedisClient, readEvictionPolicy } from '../../src/stores/redis/client.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';

/** A redis-server of this test's own, on a port given to it, killed after. */
async function startRedis(port: number, args: string[]): Promise<{ stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; attempt < 100 && !output.includes('Ready to accept connections'); attempt++) {
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!output.includes('Ready to accept connections')) {
    child.kill('SIGKILL');
    throw new Error(`redis-server on ${port} did not start: ${output}`);
  }
  return {
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

const evictingPolicyMessage = (policy: string, port: number) =>
  `Redis maxmemory-policy is ${policy}, which evicts keys under memory pressure (revoked tokens and used DPoP proofs would be accepted again): set maxmemory-policy noeviction, or accept the risk with store.allowEvictingRedis (REDIS_ALLOW_EVICTION=true); see docs/docker.md (Redis at redis://127.0.0.1:${port})`;

const storeConfig = (port: number, allowEvictingRedis = false) =>
  parseConfig({ store: { type: 'redis', redisUrl: `redis://127.0.0.1:${port}`, keyPrefix: 'dpop-oidc-test:', allowEvictingRedis } }).store;

describe('a Redis that may evict keys is refused (evicted revocations and replay entries would be accepted again)', () => {
  describe('CONFIG GET maxmemory-policy (port 6393)', () => {
    const port = 6393;
    let redis: { stop: () => Promise<void> };
    let apps: TestApp[] = [];
    beforeAll(async () => {
      redis = await startRedis(port, ['--maxmemory', '10mb', '--maxmemory-policy', 'allkeys-lru']);
    });
    afterEach(async () => {
      await Promise.all(apps.map((t) => t.app.close()));
      apps = [];
    });
    afterAll(() => redis.stop());

    const setPolicy = async (policy: string) => {
      const client = createRedisClient(`redis://127.0.0.1:${port}`);
      await client.connect();
      await client.config('SET', 'maxmemory-policy', policy);
      client.disconnect();
    };

    it('refuses to start on allkeys-lru, naming the policy and the override', async () => {
      await setPolicy('allkeys-lru');
      await expect(createStores(storeConfig(port), { replayCacheMaxEntries: 1000 }, systemClock)).rejects.toThrow(
        evictingPolicyMessage('allkeys-lru', port),
      );
    });

    it('refuses volatile-ttl too: every key the provider writes has a TTL', async () => {
      await setPolicy('volatile-ttl');
      await expect(createStores(storeConfig(port), { replayCacheMaxEntries: 1000 }, systemClock)).rejects.toThrow(
        evictingPolicyMessage('volatile-ttl', port),
      );
    });

    it('starts with store.allowEvictingRedis, and /readyz then answers 200', async () => {
      await setPolicy('allkeys-lru');
      const t = await makeTestApp({
        store: { type: 'redis', redisUrl: `redis://127.0.0.1:${port}`, keyPrefix: 'dpop-oidc-test:', allowEvictingRedis: true },
      });
      apps.push(t);
      const response = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: 'ready' });
    });

    it('/readyz answers 503 redis_evicting once the policy is changed at runtime, and 200 when it is put back', async () => {
      await setPolicy('noeviction');
      const t = await makeTestApp({ store: { type: 'redis', redisUrl: `redis://127.0.0.1:${port}`, keyPrefix: 'dpop-oidc-test:' } });
      apps.push(t);
      expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

      await setPolicy('allkeys-lru');
      const response = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ status: 'unavailable', reason: 'redis_evicting' });
      expect(response.headers['cache-control']).toBe('no-store');
      const logLine = t
        .logs()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { msg: string; reason?: string; store?: string })
        .find((line) => line.msg === 'not ready');
      expect(logLine?.reason).toBe('redis_evicting');
      expect(logLine?.store).toMatch(/^Redis maxmemory-policy is allkeys-lru, which evicts keys/);

      await setPolicy('noeviction');
      expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    });

    it('REDIS_ALLOW_EVICTION=true sets store.allowEvictingRedis (default false)', () => {
      const file = join(mkdtempSync(join(tmpdir(), 'dpop-oidc-config-')), 'config.json');
      writeFileSync(file, '{}');
      expect(loadConfig({ CONFIG_FILE: file }).store.allowEvictingRedis).toBe(false);
      expect(loadConfig({ CONFIG_FILE: file, REDIS_ALLOW_EVICTION: 'true' }).store.allowEvictingRedis).toBe(true);
      expect(loadConfig({ CONFIG_FILE: file, REDIS_ALLOW_EVICTION: '1' }).store.allowEvictingRedis).toBe(true);
      expect(loadConfig({ CONFIG_FILE: file, REDIS_ALLOW_EVICTION: 'false' }).store.allowEvictingRedis).toBe(false);
    });
  });

  describe('INFO memory where CONFIG is disabled, as on managed Redis (port 6394)', () => {
    const port = 6394;
    let redis: { stop: () => Promise<void> } | undefined;
    afterEach(async () => {
      await redis?.stop();
      redis = undefined;
    });

    it('reads the policy from INFO and refuses allkeys-lru', async () => {
      redis = await startRedis(port, ['--maxmemory', '10mb', '--maxmemory-policy', 'allkeys-lru', '--rename-command', 'CONFIG', '']);
      const client = createRedisClient(`redis://127.0.0.1:${port}`);
      await client.connect();
      await expect(client.config('GET', 'maxmemory-policy')).rejects.toThrow(/unknown command/);
      expect(await readEvictionPolicy(client)).toBe('allkeys-lru');
      client.disconnect();
      await expect(createStores(storeConfig(port), { replayCacheMaxEntries: 1000 }, systemClock)).rejects.toThrow(
        evictingPolicyMessage('allkeys-lru', port),
      );
    });

    it('starts on noeviction read from INFO', async () => {
      redis = await startRedis(port, ['--maxmemory', '10mb', '--maxmemory-policy', 'noeviction', '--rename-command', 'CONFIG', '']);
      const stores = await createStores(storeConfig(port), { replayCacheMaxEntries: 1000 }, systemClock);
      await expect(stores.ping()).resolves.toBeUndefined();
      await stores.close();
    });
  });
});
