import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createStores } from '../../src/stores/create-stores.js';
import { systemClock } from '../../src/lib/clock.js';
import { createRedisClient } from '../../src/stores/redis/client.js';
import { RedisFailureCounter } from '../../src/stores/redis/failure-counter.js';
import { basicAuth, form, issuer, makeTestApp, serviceClient, type TestApp } from '../helpers/app.js';
import { makeProof, makeProofKey } from '../helpers/dpop.js';
import { introspect, revokeRequest } from '../helpers/endpoints.js';
import { hasCommand, spawnRedisServer, type SpawnedServer } from '../helpers/redis-servers.js';

/**
 * The app finding its Redis through Sentinel (store.redisSentinel): a master of this test's own on
 * 7111, watched by one sentinel on 26379, both started here and killed after. Being the test's
 * own, the master also shows how the scripts are sent.
 */
const masterPort = 7111;
const sentinelPort = 26379;
const available = hasCommand('redis-server');
if (!available) console.warn('redis-server not found: the Redis Sentinel test is skipped');

describe.skipIf(!available)('the store through Redis Sentinel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpop-oidc-sentinel-'));
  const store = {
    type: 'redis' as const,
    redisSentinel: { sentinels: [{ host: '127.0.0.1', port: sentinelPort }], name: 'dpop' },
    keyPrefix: 'dpop-oidc-test:',
  };
  let master: SpawnedServer | undefined;
  let sentinel: SpawnedServer | undefined;
  let t: TestApp;

  beforeAll(async () => {
    master = await spawnRedisServer(
      ['--port', String(masterPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      `redis-server on ${masterPort}`,
    );
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor dpop 127.0.0.1 ${masterPort} 1\n`);
    sentinel = await spawnRedisServer([conf, '--sentinel'], `redis sentinel on ${sentinelPort}`, '+monitor master dpop');
    t = await makeTestApp({ store });
  });
  afterAll(async () => {
    await t?.app.close();
    await sentinel?.stop();
    await master?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports ready, refuses a replayed proof and honours a revocation, on the master the sentinel names', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready' });
    const proof = await makeProof(await makeProofKey(), { htu: `${issuer}/token`, iat: t.clock() / 1000 });
    const clientCredentials = () =>
      t.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret), dpop: proof },
        payload: 'grant_type=client_credentials',
      });
    const issued = await clientCredentials();
    expect(issued.statusCode).toBe(200);
    const replayed = await clientCredentials();
    expect(replayed.statusCode).toBe(400);
    expect(replayed.json()).toEqual({ error: 'invalid_dpop_proof', error_description: 'DPoP proof has already been used' });
    const token = issued.json().access_token as string;
    expect((await revokeRequest(t, { token }, { authorization: basicAuth(serviceClient.id, serviceClient.secret) })).statusCode).toBe(200);
    expect(await introspect(t, token)).toEqual({ active: false });
  });

  it('sends a script whole once per connection, then by its SHA1 (EVALSHA), and whole again after SCRIPT FLUSH', async () => {
    // This master is the test's own, so its command counts are only this test's.
    const direct = createRedisClient(`redis://127.0.0.1:${masterPort}`);
    await direct.connect();
    const admin = createRedisClient(`redis://127.0.0.1:${masterPort}`);
    await admin.connect();
    try {
      const calls = async () => {
        const stats = await admin.info('commandstats');
        const count = (command: string) => Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
        return { eval: count('eval'), evalsha: count('evalsha') };
      };
      await admin.call('CONFIG', 'RESETSTAT');
      const counter = new RedisFailureCounter(direct, 'dpop-oidc-test:');
      for (let hit = 1; hit <= 5; hit++) expect((await counter.hit('scripted', 60_000)).count).toBe(hit);
      expect(await calls()).toEqual({ eval: 1, evalsha: 4 });
      await admin.call('SCRIPT', 'FLUSH');
      expect((await counter.hit('scripted', 60_000)).count).toBe(6);
      // NOSCRIPT on the SHA1, then the whole script again.
      expect(await calls()).toEqual({ eval: 2, evalsha: 5 });
    } finally {
      direct.disconnect();
      admin.disconnect();
    }
  });

  it("checks the eviction policy of that master, naming it by the sentinel's name", async () => {
    const direct = createRedisClient(`redis://127.0.0.1:${masterPort}`);
    await direct.connect();
    try {
      await direct.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await expect(createStores(parseConfig({ store }).store, { replayCacheMaxEntries: 1000 }, systemClock)).rejects.toThrow(
        `set maxmemory-policy noeviction, or accept the risk with store.allowEvictingRedis (REDIS_ALLOW_EVICTION=true); see docs/docker.md (Redis master dpop through Sentinel at 127.0.0.1:${sentinelPort})`,
      );
    } finally {
      await direct.config('SET', 'maxmemory-policy', 'noeviction');
      direct.disconnect();
    }
  });
});
