import { randomBytes } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createStores } from '../../src/stores/create-stores.js';
import { grantTagOfTokenId } from '../../src/lib/grant-tag.js';
import { systemClock } from '../../src/lib/clock.js';
import { createRedisConnection, type RedisConnection } from '../../src/stores/redis/connection.js';
import { basicAuth, form, issuer, makeTestApp, serviceClient, testClock, type TestApp } from '../helpers/app.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { introspect, profileRequest, refreshRequest, revokeRequest, spaTokens, type UserTokens } from '../helpers/endpoints.js';
import { testClusterNodes } from '../helpers/redis-cluster.js';

/**
 * The real app on the local three-node Redis Cluster (test/setup/redis-cluster.ts): two
 * instances share it, and what a flow writes lands on several masters, each script in one slot.
 */
const nodes = testClusterNodes();

describe.skipIf(!nodes)('two instances on a Redis Cluster', () => {
  const keyPrefix = `dpop-oidc-test:${randomBytes(6).toString('hex')}:`;
  const store = () => ({ type: 'redis' as const, redisCluster: { nodes: nodes! }, keyPrefix });
  const clock = testClock();
  let a: TestApp;
  let b: TestApp;
  let key: ProofKey;
  let admin: RedisConnection;
  const masters = () => (admin.client as Cluster).nodes('master');

  beforeAll(async () => {
    admin = createRedisConnection(parseConfig({ store: store() }).store);
    await admin.connect();
    a = await makeTestApp({ store: store(), dpop: { requireNonce: false } }, { clock });
    b = await makeTestApp({ store: store(), dpop: { requireNonce: false } }, { clock });
    key = await makeProofKey();
  });
  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    for (const node of masters()) for (const stored of await node.keys(`${keyPrefix}*`)) await admin.client.del(stored);
    await admin.close();
  });

  it('reports ready: every master answers and says cluster_state:ok', async () => {
    const response = await a.app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready' });
  });

  it('redeems a code at A, refreshes at B, and revoking the refresh token at A denies both access tokens at B', async () => {
    const tokens = await spaTokens(a, key);
    // The access token names its grant, whose keys (and its tokens' denylist entries) share one slot.
    expect(grantTagOfTokenId(decodeJwt(tokens.access_token).jti!)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect((await profileRequest(b, tokens.access_token, key)).statusCode).toBe(200);

    const refreshed = await refreshRequest(b, tokens.refresh_token!, key);
    expect(refreshed.statusCode).toBe(200);
    const next = refreshed.json() as UserTokens;
    expect(grantTagOfTokenId(decodeJwt(next.access_token).jti!)).toBe(grantTagOfTokenId(decodeJwt(tokens.access_token).jti!));

    expect((await revokeRequest(a, { client_id: 'spa', token: next.refresh_token!, token_type_hint: 'refresh_token' })).statusCode).toBe(
      200,
    );
    for (const accessToken of [tokens.access_token, next.access_token]) {
      expect(await introspect(b, accessToken)).toEqual({ active: false });
      const profile = await profileRequest(b, accessToken, key);
      expect(profile.statusCode).toBe(401);
      expect(profile.headers['www-authenticate']).toMatch(
        /^DPoP error="invalid_token", error_description="access token has been revoked", /,
      );
    }
    const refresh = await refreshRequest(b, next.refresh_token!, key);
    expect(refresh.statusCode).toBe(400);
    expect(refresh.json().error).toBe('invalid_grant');
  });

  it('refuses at B a proof already used at A, and honours at A a revocation made at B (client credentials)', async () => {
    const proof = await makeProof(key, { htu: `${issuer}/token`, iat: clock() / 1000 });
    const clientCredentials = (t: TestApp) =>
      t.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret), dpop: proof },
        payload: 'grant_type=client_credentials',
      });
    const issued = await clientCredentials(a);
    expect(issued.statusCode).toBe(200);
    const replayed = await clientCredentials(b);
    expect(replayed.statusCode).toBe(400);
    expect(replayed.json()).toEqual({ error: 'invalid_dpop_proof', error_description: 'DPoP proof has already been used' });

    const token = issued.json().access_token as string;
    expect(grantTagOfTokenId(decodeJwt(token).jti!)).toBeUndefined();
    expect((await revokeRequest(b, { token }, { authorization: basicAuth(serviceClient.id, serviceClient.secret) })).statusCode).toBe(200);
    expect(await introspect(a, token)).toEqual({ active: false });
  });

  it('spreads what the flows wrote over more than one master', async () => {
    const holding = await Promise.all(masters().map(async (node) => (await node.keys(`${keyPrefix}*`)).length));
    expect(holding.filter((count) => count > 0).length).toBeGreaterThan(1);
  });

  describe('checks the eviction policy of every master', () => {
    const setPolicy = (port: number, policy: string) =>
      masters()
        .find((node) => node.options.port === port)!
        .config('SET', 'maxmemory-policy', policy);
    const lastPort = () => Number(new URL(nodes!.at(-1)!).port);

    it('refuses to start when one master may evict, naming it; /readyz then says redis_evicting', async () => {
      const port = lastPort();
      await setPolicy(port, 'allkeys-lru');
      try {
        await expect(createStores(parseConfig({ store: store() }).store, { replayCacheMaxEntries: 1000 }, systemClock)).rejects.toThrow(
          `Redis maxmemory-policy is allkeys-lru, which evicts keys under memory pressure (revoked tokens and used DPoP proofs would be accepted again): set maxmemory-policy noeviction, or accept the risk with store.allowEvictingRedis (REDIS_ALLOW_EVICTION=true); see docs/docker.md (Redis Cluster master 127.0.0.1:${port})`,
        );
        const response = await a.app.inject({ method: 'GET', url: '/readyz' });
        expect(response.statusCode).toBe(503);
        expect(response.json()).toEqual({ status: 'unavailable', reason: 'redis_evicting' });
      } finally {
        await setPolicy(port, 'noeviction');
      }
      expect((await a.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    });
  });
});
