import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basicAuth, form, makeTestApp, resourceServer, serviceClient, type TestApp } from '../helpers/app.js';

const limited = { error: 'temporarily_unavailable', error_description: 'too many failed client authentications; try again later' };

/** The reasons of the OAuth errors logged so far, in order. */
function loggedReasons(t: TestApp): string[] {
  return t
    .logs()
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { oauthError?: { reason?: string } }).oauthError?.reason)
    .filter((reason): reason is string => reason !== undefined);
}

function expectLimited(response: LightMyRequestResponse, retryAfter: string): void {
  expect(response.statusCode).toBe(429);
  expect(response.headers['retry-after']).toBe(retryAfter);
  expect(response.headers['www-authenticate']).toBeUndefined();
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.json()).toEqual(limited);
}

describe('failed client authentications are limited per client_id and per address', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeTestApp();
  });
  afterEach(() => t.app.close());

  const token = (clientId: string, secret: string, address = '198.51.100.7') =>
    t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      remoteAddress: address,
      headers: { ...form, authorization: basicAuth(clientId, secret) },
      payload: 'grant_type=client_credentials',
    });

  /** `count` wrong secrets for `clientId`, each answered 401 invalid_client. */
  async function fail(clientId: string, count: number, address = '198.51.100.7'): Promise<void> {
    for (let attempt = 0; attempt < count; attempt++) {
      const response = await token(clientId, `wrong-secret-${attempt}`, address);
      expect(response.statusCode).toBe(401);
      expect(response.json().error).toBe('invalid_client');
    }
  }

  it('refuses the 11th attempt for a known client_id with 429 and Retry-After, the right secret included, from any address', async () => {
    await fail(serviceClient.id, 10);
    expectLimited(await token(serviceClient.id, 'wrong-secret-10'), '60');
    expectLimited(await token(serviceClient.id, serviceClient.secret), '60');
    // The count is the client_id's: a fresh address gets no more guesses at it.
    expectLimited(await token(serviceClient.id, serviceClient.secret, '203.0.113.50'), '60');
    expect(loggedReasons(t).slice(-3)).toEqual(['client_auth_rate_limited', 'client_auth_rate_limited', 'client_auth_rate_limited']);
    // Other clients are not affected.
    expect((await token('post-client', serviceClient.secret, '203.0.113.50')).statusCode).toBe(401);
  });

  it('counts an unknown client_id exactly as a known one, so the limit does not tell which exists', async () => {
    const known: number[] = [];
    const unknown: number[] = [];
    for (let attempt = 0; attempt < 12; attempt++) {
      known.push((await token(serviceClient.id, `wrong-${attempt}`, '198.51.100.1')).statusCode);
      unknown.push((await token('no-such-client', `wrong-${attempt}`, '198.51.100.2')).statusCode);
    }
    expect(known).toEqual([...Array(10).fill(401), 429, 429]);
    expect(unknown).toEqual(known);
    const knownLimited = await token(serviceClient.id, serviceClient.secret, '198.51.100.1');
    const unknownLimited = await token('no-such-client', serviceClient.secret, '198.51.100.2');
    expect(unknownLimited.statusCode).toBe(knownLimited.statusCode);
    expect(unknownLimited.body).toBe(knownLimited.body);
    expect(withoutDate(unknownLimited.headers)).toEqual(withoutDate(knownLimited.headers));
  });

  it('refuses every attempt from an address after 30 failures on any client_ids, and only from that address', async () => {
    for (let id = 0; id < 30; id++) await fail(`guess-${id}`, 1, '198.51.100.9');
    expectLimited(await token(serviceClient.id, serviceClient.secret, '198.51.100.9'), '60');
    expect(loggedReasons(t).at(-1)).toBe('client_auth_rate_limited');
    expect((await token(serviceClient.id, serviceClient.secret, '198.51.100.10')).statusCode).toBe(200);
  });

  it("does not block a second address for the first one's failures on another client_id", async () => {
    await fail('web', 10, '198.51.100.20');
    expectLimited(await token('web', 'wrong-again', '198.51.100.20'), '60');
    expect((await token(serviceClient.id, serviceClient.secret, '198.51.100.21')).statusCode).toBe(200);
    // Nor the first address for a client_id it has not failed on, while under its own limit.
    expect((await token(serviceClient.id, serviceClient.secret, '198.51.100.20')).statusCode).toBe(200);
  });

  it('counts IPv6 callers by their /64', async () => {
    for (let host = 1; host <= 30; host++) await fail(`guess-${host}`, 1, `2001:db8:1:2::${host.toString(16)}`);
    expectLimited(await token(serviceClient.id, serviceClient.secret, '2001:db8:1:2:ffff:ffff:ffff:ffff'), '60');
    expect((await token(serviceClient.id, serviceClient.secret, '2001:db8:1:3::1')).statusCode).toBe(200);
  });

  it('lets the client authenticate again once the window has passed', async () => {
    await fail(serviceClient.id, 10);
    t.clock.advance(20_000);
    expectLimited(await token(serviceClient.id, serviceClient.secret), '40');
    t.clock.advance(40_000);
    expect((await token(serviceClient.id, serviceClient.secret)).statusCode).toBe(200);
    // A new window starts with the next failure.
    await fail(serviceClient.id, 10);
    expectLimited(await token(serviceClient.id, serviceClient.secret), '60');
  });

  it('neither counts nor forgets failures on successful authentications', async () => {
    await fail(serviceClient.id, 9);
    for (let success = 0; success < 20; success++) expect((await token(serviceClient.id, serviceClient.secret)).statusCode).toBe(200);
    await fail(serviceClient.id, 1);
    expectLimited(await token(serviceClient.id, serviceClient.secret), '60');
  });

  it('does not lock a public client out through secrets sent in its name: attempts without a secret count by address only', async () => {
    await fail('spa', 10);
    expectLimited(await token('spa', 'wrong-again'), '60');
    const refresh = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      remoteAddress: '203.0.113.80',
      headers: form,
      payload: 'grant_type=refresh_token&client_id=spa&refresh_token=not-a-refresh-token',
    });
    expect(refresh.statusCode).toBe(400);
    expect(refresh.json().error).toBe('invalid_grant');
  });

  it('limits introspection and revocation too, with one count across the three endpoints', async () => {
    const post = (path: string, clientId: string, secret: string) =>
      t.app.inject({
        method: 'POST',
        url: `/oidc/${path}`,
        remoteAddress: '198.51.100.30',
        headers: { ...form, authorization: basicAuth(clientId, secret) },
        payload: 'token=some-token',
      });
    for (let attempt = 0; attempt < 10; attempt++)
      expect((await post('introspect', resourceServer.id, `wrong-${attempt}`)).statusCode).toBe(401);
    expectLimited(await post('introspect', resourceServer.id, resourceServer.secret), '60');

    for (let attempt = 0; attempt < 5; attempt++) expect((await post('revoke', serviceClient.id, `wrong-${attempt}`)).statusCode).toBe(401);
    for (let attempt = 0; attempt < 5; attempt++)
      expect((await post('introspect', serviceClient.id, `wrong-${attempt}`)).statusCode).toBe(401);
    expectLimited(await post('revoke', serviceClient.id, serviceClient.secret), '60');
    expectLimited(await token(serviceClient.id, serviceClient.secret, '203.0.113.90'), '60');
  });
});

describe('clientAuth limits come from the configuration', () => {
  it('applies maxFailuresPerClient and windowSeconds', async () => {
    const t = await makeTestApp({
      clientAuth: { maxFailuresPerClient: 2, maxFailuresPerAddress: 30, windowSeconds: 300, maxTrackedKeys: 1000 },
    });
    try {
      const attempt = (secret: string) =>
        t.app.inject({
          method: 'POST',
          url: '/oidc/token',
          headers: { ...form, authorization: basicAuth(serviceClient.id, secret) },
          payload: 'grant_type=client_credentials',
        });
      expect((await attempt('wrong-1')).statusCode).toBe(401);
      expect((await attempt('wrong-2')).statusCode).toBe(401);
      expectLimited(await attempt(serviceClient.secret), '300');
    } finally {
      await t.app.close();
    }
  });
});

function withoutDate(headers: LightMyRequestResponse['headers']): Record<string, unknown> {
  // Date and the request id differ between any two answers.
  const { date: _date, 'x-request-id': _requestId, ...rest } = headers;
  return rest;
}
