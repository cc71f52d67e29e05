import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createStores } from '../../src/stores/create-stores.js';
import { createRedisClient } from '../../src/stores/redis/client.js';
import { RedisFailureCounter } from '../../src/stores/redis/failure-counter.js';
import { basicAuth, form, makeTestApp, resourceServer, serviceClient, testClock, webClient, type TestApp } from '../helpers/app.js';
import { Browser, pkcePair } from '../helpers/browser.js';
import { authorizeUrl } from '../helpers/flow.js';

/** The reasons of the OAuth errors an app has logged so far, in order. */
function loggedReasons(t: TestApp): string[] {
  return t
    .logs()
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { oauthError?: { reason?: string } }).oauthError?.reason)
    .filter((reason): reason is string => reason !== undefined);
}

const post = (t: TestApp, path: string, authorization: string, payload: string, remoteAddress = '198.51.100.40') =>
  t.app.inject({ method: 'POST', url: `/oidc/${path}`, remoteAddress, headers: { ...form, authorization }, payload });

const introspect = (t: TestApp) => post(t, 'introspect', basicAuth(resourceServer.id, resourceServer.secret), 'token=not-a-token');
const revoke = (t: TestApp) => post(t, 'revoke', basicAuth(webClient.id, webClient.secret), 'token=not-a-token');

function expectClientRateLimited(response: LightMyRequestResponse, endpoint: string): void {
  expect(response.statusCode).toBe(429);
  // Redis counts in real time: a second may pass between the window's first hit and this answer.
  expect(response.headers['retry-after']).toMatch(/^(59|60)$/);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.json()).toEqual({
    error: 'temporarily_unavailable',
    error_description: `too many ${endpoint} requests from this client; try again later`,
  });
}

/**
 * Behind a load balancer each request may reach another instance: with STORE=redis the limits
 * count in Redis, so two instances together allow what one allows, not twice as much.
 */
describe('two instances on one Redis count every limit together', () => {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const keyPrefix = `dpop-oidc-test:${randomBytes(6).toString('hex')}:`;
  const store = { type: 'redis' as const, redisUrl, keyPrefix };
  const limits = {
    http: { loginAttemptsPerMinute: 3, authorizeRequestsPerMinute: 4 },
    rateLimits: { introspectionPerClientPerMinute: 3, revocationPerClientPerMinute: 3, memoryMaxTrackedKeys: 1000 },
  };
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    const clock = testClock();
    a = await makeTestApp({ store, ...limits }, { clock });
    b = await makeTestApp({ store, ...limits }, { clock });
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

  it('refuses the 4th sign-in attempt from an address with a limit of 3, whichever instance each reaches', async () => {
    const atA = new Browser(a.app);
    // Counted: the authorization request that shows the form is not a sign-in attempt.
    const page = await atA.get(authorizeUrl(pkcePair().challenge));
    expect(page.statusCode).toBe(200);
    const atB = new Browser(b.app);
    for (const [name, value] of atA.cookies) atB.cookies.set(name, value);
    const browsers = [atA, atB, atA];
    for (const [attempt, browser] of browsers.entries()) {
      expect((await browser.submit(page, { username: 'alice', password: `guess-${attempt}` })).statusCode).toBe(401);
    }
    const limited = await atB.submit(page, { username: 'alice', password: 'guess-3' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^(59|60)$/);
    expect(limited.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(limited.body).toContain('too many sign-in attempts');
    expect(loggedReasons(b).at(-1)).toBe('rate_limit');
  });

  it('refuses the authorization request over the limit, GET and POST at either instance counted together', async () => {
    // The sign-in test above made one authorization request from this address: 3 remain.
    const atA = new Browser(a.app);
    const atB = new Browser(b.app);
    expect((await atB.get(authorizeUrl(pkcePair().challenge))).statusCode).toBe(200);
    expect((await atA.get(authorizeUrl(pkcePair().challenge))).statusCode).toBe(200);
    const posted = await b.app.inject({
      method: 'POST',
      url: '/oidc/authorize',
      headers: form,
      payload: authorizeUrl(pkcePair().challenge).split('?')[1],
    });
    expect(posted.statusCode).toBe(200);
    const limited = await atA.get(authorizeUrl(pkcePair().challenge));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^(59|60)$/);
    expect(limited.headers['set-cookie']).toBeUndefined();
    expect(limited.body).toContain('too many requests');
    expect(loggedReasons(a).at(-1)).toBe('rate_limit');
    // Another address has its own count.
    const elsewhere = await b.app.inject({ method: 'GET', url: authorizeUrl(pkcePair().challenge), remoteAddress: '203.0.113.9' });
    expect(elsewhere.statusCode).toBe(200);
  });

  it('refuses the 11th failed client authentication for a client_id, spread over both instances, the right secret included', async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const response = await post(
        attempt % 2 ? b : a,
        'token',
        basicAuth(serviceClient.id, `wrong-${attempt}`),
        'grant_type=client_credentials',
        `198.51.100.${50 + attempt}`,
      );
      expect(response.statusCode).toBe(401);
      expect(response.json().error).toBe('invalid_client');
    }
    for (const t of [a, b]) {
      const limited = await post(
        t,
        'token',
        basicAuth(serviceClient.id, serviceClient.secret),
        'grant_type=client_credentials',
        '198.51.100.99',
      );
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toMatch(/^(59|60)$/);
      expect(limited.json()).toEqual({
        error: 'temporarily_unavailable',
        error_description: 'too many failed client authentications; try again later',
      });
      expect(loggedReasons(t).at(-1)).toBe('client_auth_rate_limited');
    }
  });

  it('refuses the 4th introspection by one client with a limit of 3, across both instances, and not another client', async () => {
    for (const t of [a, b, a]) {
      const response = await introspect(t);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ active: false });
    }
    expectClientRateLimited(await introspect(b), 'introspection');
    expect(loggedReasons(b).at(-1)).toBe('client_rate_limited');
    // The limit is the client's, from any address; revocation counts apart.
    expectClientRateLimited(
      await post(a, 'introspect', basicAuth(resourceServer.id, resourceServer.secret), 'token=x', '203.0.113.1'),
      'introspection',
    );
    expect((await post(a, 'revoke', basicAuth(resourceServer.id, resourceServer.secret), 'token=x')).statusCode).toBe(200);
  });

  it('refuses the 4th revocation by one client with a limit of 3, across both instances', async () => {
    for (const t of [b, a, b]) expect((await revoke(t)).statusCode).toBe(200);
    expectClientRateLimited(await revoke(a), 'revocation');
    expect(loggedReasons(a).at(-1)).toBe('client_rate_limited');
  });
});

describe('one instance on memory', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({
      http: { loginAttemptsPerMinute: 2 },
      rateLimits: { introspectionPerClientPerMinute: 2, revocationPerClientPerMinute: 2, memoryMaxTrackedKeys: 1000 },
    });
  });
  afterAll(() => t.app.close());

  it('limits introspection per client in its own memory, and lets the client in again when the minute has passed', async () => {
    for (let call = 0; call < 2; call++) expect((await introspect(t)).statusCode).toBe(200);
    expectClientRateLimited(await introspect(t), 'introspection');
    expect(loggedReasons(t).at(-1)).toBe('client_rate_limited');
    t.clock.advance(60_000);
    expect((await introspect(t)).statusCode).toBe(200);
  });

  it('counts the sign-in attempts of IPv6 callers by their /64', async () => {
    const attempt = (remoteAddress: string) =>
      t.app.inject({ method: 'POST', url: '/oidc/login', remoteAddress, headers: form, payload: 'interaction=x' });
    expect((await attempt('2001:db8:5:6::1')).statusCode).toBe(400);
    expect((await attempt('2001:db8:5:6::2')).statusCode).toBe(400);
    const limited = await attempt('2001:db8:5:6:ffff:ffff:ffff:ffff');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^(59|60)$/);
    expect(limited.body).toContain('too many sign-in attempts');
    expect((await attempt('2001:db8:5:7::1')).statusCode).toBe(400);
  });
});

describe('a rate-limit counter that cannot answer', () => {
  it('fails the request closed with 503 rather than let it through uncounted', async () => {
    const stores = await createStores(parseConfig({}).store, { replayCacheMaxEntries: 1000 }, testClock());
    const down = createRedisClient('redis://127.0.0.1:1');
    stores.sharedCounter = new RedisFailureCounter(down, 'unused:');
    const t = await makeTestApp({}, { stores });
    try {
      const page = await t.app.inject({ method: 'GET', url: authorizeUrl(pkcePair().challenge) });
      expect(page.statusCode).toBe(503);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.body).toContain('temporarily_unavailable');
      const token = await post(t, 'token', basicAuth(serviceClient.id, 'wrong'), 'grant_type=client_credentials');
      expect(token.statusCode).toBe(503);
      expect(token.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'try again later' });
    } finally {
      await t.app.close();
      down.disconnect();
    }
  });
});
