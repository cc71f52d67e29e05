import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createStores, type Stores } from '../../src/stores/create-stores.js';
import { systemClock } from '../../src/lib/clock.js';
import { createRedisClient } from '../../src/stores/redis/client.js';
import { RedisCodeStore } from '../../src/stores/redis/code-store.js';
import { RedisConsentStore } from '../../src/stores/redis/consent-store.js';
import { RedisEndedInteractions } from '../../src/stores/redis/ended-interactions.js';
import { RedisGrantStore } from '../../src/stores/redis/grant-store.js';
import { RedisRefreshTokenStore } from '../../src/stores/redis/refresh-token-store.js';
import { RedisReplayCache } from '../../src/stores/redis/replay-cache.js';
import { RedisRevokedTokens } from '../../src/stores/redis/revoked-tokens.js';
import { RedisSessionStore } from '../../src/stores/redis/session-store.js';
import {
  basicAuth,
  defaultTestClients,
  form,
  issuer,
  makeTestApp,
  resourceServer,
  serviceClient,
  testClock,
  type TestApp,
} from '../helpers/app.js';
import { Browser, redirectParams } from '../helpers/browser.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { authorizeUrl, codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';

/**
 * Two instances behind a load balancer share their state through a real Redis: whatever one
 * issues or records, the other honours, and single-use things stay single-use across both.
 */
describe('two instances sharing Redis', () => {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const keyPrefix = `dpop-oidc-test:${randomBytes(6).toString('hex')}:`;
  const clock = testClock();
  let a: TestApp;
  let b: TestApp;
  let key: ProofKey;
  let otherKey: ProofKey;

  beforeAll(async () => {
    const store = { type: 'redis' as const, redisUrl, keyPrefix };
    a = await makeTestApp({ store, dpop: { requireNonce: false } }, { clock });
    b = await makeTestApp({ store }, { clock });
    [key, otherKey] = await Promise.all([makeProofKey(), makeProofKey()]);
  });
  afterAll(async () => {
    await a.app.close();
    await b.app.close();
    const redis = createRedisClient(redisUrl);
    await redis.connect();
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const clientCredentials = async (app: TestApp, dpop?: string) =>
    app.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret), ...(dpop ? { dpop } : {}) },
      payload: 'grant_type=client_credentials',
    });
  const introspect = (app: TestApp, token: string) =>
    app.app.inject({
      method: 'POST',
      url: '/oidc/introspect',
      headers: { ...form, authorization: basicAuth(resourceServer.id, resourceServer.secret) },
      payload: `token=${token}`,
    });

  it('reports ready when Redis answers', async () => {
    const response = await a.app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready' });
  });

  it('refuses at B a proof already used at A (one replay cache)', async () => {
    const proof = await makeProof(key, { htu: `${issuer}/token`, iat: clock() / 1000 });
    expect((await clientCredentials(a, proof)).statusCode).toBe(200);
    const replayed = await clientCredentials(b, proof);
    expect(replayed.statusCode).toBe(400);
    expect(replayed.json()).toEqual({ error: 'invalid_dpop_proof', error_description: 'DPoP proof has already been used' });
  });

  it('redeems at B a code issued at A, once; the second redemption at A revokes what B issued', async () => {
    const browser = new Browser(a.app);
    const { code, verifier } = await signInAndConsent(browser, { dpopJkt: key.jkt });
    const first = await tokenRequest(b, codeExchange(code, verifier), key);
    expect(first.statusCode).toBe(200);
    const tokens = first.json();
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: key.jkt });
    expect((await introspect(a, tokens.access_token)).json().active).toBe(true);

    // By another key: the holder's own retry within the grace would be answered (see redis-stall.test.ts).
    const second = await tokenRequest(a, codeExchange(code, verifier), otherKey);
    expect(second.statusCode).toBe(400);
    expect(second.json().error).toBe('invalid_grant');
    expect((await introspect(b, tokens.access_token)).json()).toEqual({ active: false });
    const refresh = await tokenRequest(b, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'spa' }, key);
    expect(refresh.json().error).toBe('invalid_grant');
  });

  it('keeps the sign-in session across instances', async () => {
    const browser = new Browser(a.app);
    await signInAndConsent(browser);
    // The same browser (same cookies) now reaches instance B.
    const atB = new Browser(b.app);
    for (const [name, value] of browser.cookies) atB.cookies.set(name, value);
    const response = await atB.get(authorizeUrl('c'.repeat(43), { params: { prompt: 'none' } }));
    expect(response.statusCode).toBe(303);
    expect(redirectParams(response).get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('detects at B the reuse of a refresh token rotated at A', async () => {
    const { code, verifier } = await signInAndConsent(new Browser(a.app));
    const tokens = (await tokenRequest(a, codeExchange(code, verifier), key)).json();
    const rotated = await tokenRequest(a, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'spa' }, key);
    expect(rotated.statusCode).toBe(200);
    // Past the retry grace, the holder's own key counts as reuse too.
    clock.advance(61_000);
    const reuse = await tokenRequest(b, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'spa' }, key);
    expect(reuse.statusCode).toBe(400);
    expect(reuse.json().error).toBe('invalid_grant');
    const successor = await tokenRequest(
      a,
      { grant_type: 'refresh_token', refresh_token: rotated.json().refresh_token, client_id: 'spa' },
      key,
    );
    expect(successor.json().error).toBe('invalid_grant');
    expect((await introspect(a, rotated.json().access_token)).json()).toEqual({ active: false });
  });

  it('honours at A a revocation made at B', async () => {
    const token = (await clientCredentials(a)).json().access_token;
    const revoke = await b.app.inject({
      method: 'POST',
      url: '/oidc/revoke',
      headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret) },
      payload: `token=${token}`,
    });
    expect(revoke.statusCode).toBe(200);
    expect((await introspect(a, token)).json()).toEqual({ active: false });
    const profile = await a.app.inject({ method: 'GET', url: '/oidc/profile', headers: { authorization: `Bearer ${token}` } });
    expect(profile.statusCode).toBe(401);
    expect(profile.json().error).toBe('invalid_token');
  });
});

describe('Redis unavailable', () => {
  it('stops start-up with a clear message when Redis cannot be reached', async () => {
    const config = parseConfig({
      issuer,
      clients: defaultTestClients(),
      store: { type: 'redis', redisUrl: 'redis://user:secret@127.0.0.1:1' },
    });
    await expect(createStores(config.store, { replayCacheMaxEntries: 1000 }, systemClock)).rejects.toThrow(
      /^cannot reach Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:1/,
    );
  });

  it('fails closed with 503 temporarily_unavailable, and /readyz says 503, when Redis goes away', async () => {
    const down = createRedisClient('redis://127.0.0.1:1');
    down.on('error', () => {});
    const prefix = 'unused:';
    const stores: Stores = {
      replayCache: new RedisReplayCache(down, prefix),
      replayCacheIsVolatile: false,
      revoked: new RedisRevokedTokens(down, prefix, systemClock),
      codes: new RedisCodeStore(down, prefix),
      grants: new RedisGrantStore(down, prefix, systemClock),
      refreshTokens: new RedisRefreshTokenStore(down, prefix, systemClock),
      sessions: new RedisSessionStore(down, prefix),
      consents: new RedisConsentStore(down, prefix),
      endedInteractions: new RedisEndedInteractions(down, prefix),
      ping: async () => {
        await down.ping();
      },
      close: async () => down.disconnect(),
    };
    const t = await makeTestApp({}, { stores });
    try {
      const key = await makeProofKey();
      const response = await t.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: {
          ...form,
          authorization: basicAuth(serviceClient.id, serviceClient.secret),
          dpop: await makeProof(key, { htu: `${issuer}/token`, iat: t.clock() / 1000 }),
        },
        payload: 'grant_type=client_credentials',
      });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'try again later' });
      expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    } finally {
      await t.app.close();
    }
  });
});
