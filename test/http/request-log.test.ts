import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStores } from '../../src/stores/create-stores.js';
import { parseConfig } from '../../src/config/load.js';
import { alice, basicAuth, form, issuer, makeTestApp, resourceServer, serviceClient, testClock, type TestApp } from '../helpers/app.js';
import { Browser, pkcePair } from '../helpers/browser.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { profileRequest, refreshRequest, revokeRequest, spaTokens } from '../helpers/endpoints.js';
import { authorizeUrl, codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';

/**
 * One JSON line per request, written when it completes: the request id (the caller's
 * X-Request-Id when well formed, echoed in the answer), method, route template, status, time,
 * the client, grant and token type, and for a refusal its OAuth error and reason. Security
 * events are the same line at warn, with `event`.
 */

type Line = Record<string, unknown> & { reqId?: string; msg?: string; level?: number };

function lines(t: TestApp): Line[] {
  return t
    .logs()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Line);
}

/** The lines of one request, found by the id it was answered with. */
function linesOf(t: TestApp, response: LightMyRequestResponse): Line[] {
  const id = response.headers['x-request-id'];
  expect(typeof id).toBe('string');
  return lines(t).filter((line) => line.reqId === id);
}

/** The one line of a request. */
function lineOf(t: TestApp, response: LightMyRequestResponse): Line {
  const found = linesOf(t, response);
  expect(found).toHaveLength(1);
  return found[0]!;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const tokenUrl = `${issuer}/token`;

describe('one line per request, when it completes', () => {
  let t: TestApp;
  let key: ProofKey;
  const proof = (iat = t.clock() / 1000) => makeProof(key, { htu: tokenUrl, iat });
  const clientCredentials = (headers: Record<string, string> = {}, clientId = serviceClient.id) =>
    t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { ...form, authorization: basicAuth(clientId, serviceClient.secret), ...headers },
      payload: 'grant_type=client_credentials',
    });

  beforeAll(async () => {
    t = await makeTestApp();
    key = await makeProofKey();
  });
  afterAll(() => t.app.close());

  it('writes one line for a token request, naming the client, grant type and token type', async () => {
    const response = await clientCredentials({ dpop: await proof() });
    expect(response.statusCode).toBe(200);
    const line = lineOf(t, response);
    expect(line).toMatchObject({
      level: 30,
      msg: 'request completed',
      method: 'POST',
      route: '/oidc/token',
      status: 200,
      clientId: serviceClient.id,
      grantType: 'client_credentials',
      tokenType: 'DPoP',
      remoteAddress: '127.0.0.1',
    });
    expect(typeof line.responseTime).toBe('number');
    expect(line.oauthError).toBeUndefined();
    expect(line.path).toBeUndefined();
  });

  it('writes a refusal in the same one line, with its OAuth error, reason and detail, and the client', async () => {
    const response = await clientCredentials({ dpop: await makeProof(key, { htu: `${issuer}/profile`, iat: t.clock() / 1000 }) });
    expect(response.statusCode).toBe(400);
    const line = lineOf(t, response);
    expect(line).toMatchObject({
      level: 30,
      status: 400,
      route: '/oidc/token',
      clientId: serviceClient.id,
      grantType: 'client_credentials',
    });
    expect(line.oauthError).toEqual({ error: 'invalid_dpop_proof', reason: 'htu', expected: tokenUrl, received: `${issuer}/profile` });
    expect(line.tokenType).toBeUndefined();
  });

  it('names the client_id a failed authentication presented, known or not', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { ...form, authorization: basicAuth('no-such-client', 'wrong-secret') },
      payload: 'grant_type=client_credentials',
    });
    expect(response.statusCode).toBe(401);
    const line = lineOf(t, response);
    expect(line.clientId).toBe('no-such-client');
    expect(line.oauthError).toMatchObject({ error: 'invalid_client', reason: 'client_auth', cause: 'unknown_client' });
  });

  it('names the client at the profile, introspection and revocation endpoints', async () => {
    const token = (await clientCredentials({ dpop: await proof() })).json().access_token as string;
    const profile = await profileRequest(t, token, key);
    expect(profile.statusCode).toBe(200);
    expect(lineOf(t, profile)).toMatchObject({
      route: '/oidc/profile',
      method: 'GET',
      status: 200,
      clientId: serviceClient.id,
      tokenType: 'DPoP',
    });

    const introspection = await t.app.inject({
      method: 'POST',
      url: '/oidc/introspect',
      headers: { ...form, authorization: basicAuth(resourceServer.id, resourceServer.secret) },
      payload: `token=${token}`,
    });
    expect(introspection.statusCode).toBe(200);
    expect(lineOf(t, introspection)).toMatchObject({ route: '/oidc/introspect', status: 200, clientId: resourceServer.id });

    const revocation = await revokeRequest(t, { token }, { authorization: basicAuth(serviceClient.id, serviceClient.secret) });
    expect(revocation.statusCode).toBe(200);
    expect(lineOf(t, revocation)).toMatchObject({ route: '/oidc/revoke', status: 200, clientId: serviceClient.id });
  });

  it('logs an unknown path by the bounded path, never its query, under route "unmatched"', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/oidc/${'p'.repeat(300)}?token=secret-in-query` });
    expect(response.statusCode).toBe(404);
    const line = lineOf(t, response);
    expect(line).toMatchObject({ route: 'unmatched', status: 404, oauthError: { error: 'invalid_request', reason: 'not_found' } });
    expect(line.path).toBe(`/oidc/${'p'.repeat(122)}...(+178)`);
    expect(t.logs()).not.toContain('secret-in-query');
  });

  it('writes no "incoming request" line and exactly one line for each request', async () => {
    const before = lines(t).length;
    const responses = [
      await clientCredentials(),
      await clientCredentials({ dpop: 'not-a-jwt' }),
      await t.app.inject({ method: 'GET', url: '/oidc/jwks' }),
      await t.app.inject({ method: 'GET', url: '/nowhere' }),
    ];
    expect(lines(t).length - before).toBe(responses.length);
    for (const response of responses) expect(linesOf(t, response)).toHaveLength(1);
    expect(lines(t).filter((line) => line.msg === 'incoming request')).toEqual([]);
  });
});

describe('request ids: X-Request-Id kept when well formed, else generated, and returned', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.app.close());
  const jwks = (headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url: '/oidc/jwks', headers });

  it('keeps a well-formed X-Request-Id in the line and the answer', async () => {
    const id = 'lb-7f3a.9:0001_x';
    const response = await jwks({ 'x-request-id': id });
    expect(response.headers['x-request-id']).toBe(id);
    expect(lineOf(t, response).reqId).toBe(id);
  });

  it.each([
    ['a space', 'two words'],
    ['a quote', 'a"b'],
    ['a line break', 'a\\nb'],
    ['129 characters', 'x'.repeat(129)],
    ['nothing', ''],
  ])('replaces an X-Request-Id with %s by a generated one', async (_what, id) => {
    const response = await jwks({ 'x-request-id': id });
    const returned = response.headers['x-request-id'] as string;
    expect(returned).toMatch(uuid);
    expect(lineOf(t, response).reqId).toBe(returned);
  });

  it('generates a different id for each request without one, and returns it on refusals too', async () => {
    const first = await jwks();
    const refused = await t.app.inject({ method: 'POST', url: '/oidc/token', headers: form, payload: 'grant_type=nope' });
    expect(refused.statusCode).toBe(400);
    const ids = [first.headers['x-request-id'], refused.headers['x-request-id']];
    for (const id of ids) expect(id).toMatch(uuid);
    expect(ids[0]).not.toBe(ids[1]);
    expect(lineOf(t, refused).oauthError).toEqual({ error: 'unsupported_grant_type', reason: 'grant_type' });
  });
});

describe('security events: the line at warn, with event', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.app.close());

  it('proof_replay: a proof used twice', async () => {
    const key = await makeProofKey();
    const dpop = await makeProof(key, { htu: tokenUrl, iat: t.clock() / 1000 });
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret), dpop },
        payload: 'grant_type=client_credentials',
      });
    expect(lineOf(t, await send()).level).toBe(30);
    const replayed = await send();
    expect(replayed.statusCode).toBe(400);
    expect(lineOf(t, replayed)).toMatchObject({
      level: 40,
      event: 'proof_replay',
      clientId: serviceClient.id,
      oauthError: { error: 'invalid_dpop_proof', reason: 'replay' },
    });
  });

  it('code_reuse: a code redeemed twice', async () => {
    const [key, otherKey] = await Promise.all([makeProofKey(), makeProofKey()]);
    const { code, verifier } = await signInAndConsent(new Browser(t.app));
    expect((await tokenRequest(t, codeExchange(code, verifier), key)).statusCode).toBe(200);
    // By another key: the holder's own retry within the grace is answered, not reuse.
    const reused = await tokenRequest(t, codeExchange(code, verifier), otherKey);
    expect(lineOf(t, reused)).toMatchObject({
      level: 40,
      event: 'code_reuse',
      clientId: 'spa',
      grantType: 'authorization_code',
      oauthError: { error: 'invalid_grant', reason: 'code_reuse' },
    });
  });

  it('refresh_token_reuse, then revoked_grant_use: a refresh token used twice revokes the grant, whose next token is refused', async () => {
    const key = await makeProofKey();
    const tokens = await spaTokens(t, key);
    const rotated = await refreshRequest(t, tokens.refresh_token!, key);
    expect(rotated.statusCode).toBe(200);
    // Past the retry grace (refreshToken.reuseGraceSeconds), a second use is reuse.
    t.clock.advance(61_000);
    const reused = await refreshRequest(t, tokens.refresh_token!, key);
    expect(lineOf(t, reused)).toMatchObject({
      level: 40,
      event: 'refresh_token_reuse',
      clientId: 'spa',
      grantType: 'refresh_token',
      oauthError: { error: 'invalid_grant', reason: 'refresh_reuse' },
    });
    const afterRevocation = await refreshRequest(t, rotated.json().refresh_token, key);
    expect(afterRevocation.json().error).toBe('invalid_grant');
    expect(lineOf(t, afterRevocation)).toMatchObject({ level: 40, event: 'revoked_grant_use', oauthError: { reason: 'revoked' } });
  });

  it('sign_in_lockout: a sign-in attempt over the limit; the wrong passwords before it are info lines with reason login_failed', async () => {
    // Sign-ins are limited per address: an app of its own, where no other test signed in.
    const t = await makeTestApp({ http: { loginAttemptsPerMinute: 2 } });
    try {
      const browser = new Browser(t.app);
      const page = await browser.get(authorizeUrl(pkcePair().challenge));
      for (let attempt = 0; attempt < 2; attempt++) {
        const wrong = await browser.submit(page, { username: alice.username, password: `guess-${attempt}` });
        expect(wrong.statusCode).toBe(401);
        expect(lineOf(t, wrong)).toMatchObject({ level: 30, route: '/oidc/login', status: 401, reason: 'login_failed' });
      }
      const limited = await browser.submit(page, { username: alice.username, password: 'guess-3' });
      expect(limited.statusCode).toBe(429);
      expect(lineOf(t, limited)).toMatchObject({
        level: 40,
        event: 'sign_in_lockout',
        route: '/oidc/login',
        status: 429,
        oauthError: { error: 'temporarily_unavailable', reason: 'rate_limit' },
      });
    } finally {
      await t.app.close();
    }
  });
});

describe('LOG_LEVEL=warn: only security events and errors', () => {
  it('writes no line for an answered request, and the line of a security event', async () => {
    const t = await makeTestApp({ logLevel: 'warn' });
    try {
      const key = await makeProofKey();
      const dpop = await makeProof(key, { htu: tokenUrl, iat: t.clock() / 1000 });
      const send = () =>
        t.app.inject({
          method: 'POST',
          url: '/oidc/token',
          headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret), dpop },
          payload: 'grant_type=client_credentials',
        });
      expect((await send()).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: '/nowhere' })).statusCode).toBe(404);
      expect(t.logs()).toBe('');
      const replayed = await send();
      expect(lines(t)).toEqual([expect.objectContaining({ level: 40, event: 'proof_replay', reqId: replayed.headers['x-request-id'] })]);
    } finally {
      await t.app.close();
    }
  });
});

describe('an unexpected error', () => {
  it('keeps its error line, with err, beside the request line', async () => {
    const stores = await createStores(parseConfig({}).store, { replayCacheMaxEntries: 1000 }, testClock());
    const { grants } = stores;
    stores.grants = {
      ...grants,
      create: grants.create.bind(grants),
      find: grants.find.bind(grants),
      revoke: grants.revoke.bind(grants),
      addAccessToken: async () => {
        throw new Error('a bug, not a store outage');
      },
    };
    const t = await makeTestApp({}, { stores });
    try {
      const key = await makeProofKey();
      const { code, verifier } = await signInAndConsent(new Browser(t.app), { dpopJkt: key.jkt });
      const response = await tokenRequest(t, codeExchange(code, verifier), key);
      expect(response.statusCode).toBe(500);
      const found = linesOf(t, response);
      expect(found).toHaveLength(2);
      expect(found[0]).toMatchObject({ level: 50, msg: 'unhandled error', err: { message: 'a bug, not a store outage' } });
      expect(found[1]).toMatchObject({ level: 30, msg: 'request completed', status: 500, clientId: 'spa' });
    } finally {
      await t.app.close();
    }
  });
});

describe('secrets stay out of the request lines', () => {
  it('logs no client secret, password, proof, code or token from any endpoint', async () => {
    const t = await makeTestApp();
    try {
      const key = await makeProofKey();
      const dpop = await makeProof(key, { htu: tokenUrl, iat: t.clock() / 1000 });
      const posted = await t.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { ...form, dpop },
        payload: `grant_type=client_credentials&client_id=post-client&client_secret=${serviceClient.secret}`,
      });
      expect(posted.statusCode).toBe(200);
      const accessToken = posted.json().access_token as string;
      const wrongSecret = 'a-wrong-secret-that-must-not-be-logged';
      expect(
        (
          await t.app.inject({
            method: 'POST',
            url: '/oidc/token',
            headers: { ...form, authorization: basicAuth(serviceClient.id, wrongSecret) },
            payload: 'grant_type=client_credentials',
          })
        ).statusCode,
      ).toBe(401);
      const browser = new Browser(t.app);
      const page = await browser.get(authorizeUrl(pkcePair().challenge));
      const wrongPassword = 'a-wrong-password-that-must-not-be-logged';
      expect((await browser.submit(page, { username: alice.username, password: wrongPassword })).statusCode).toBe(401);
      const tokens = await spaTokens(t, key);
      await profileRequest(t, accessToken, key);
      await revokeRequest(t, { token: tokens.refresh_token!, client_id: 'spa' });

      const logs = t.logs();
      const requestLines = lines(t).filter((line) => line.msg === 'request completed');
      expect(requestLines.length).toBeGreaterThanOrEqual(8);
      // Each is the new line: by route template, never by URL.
      for (const line of requestLines) expect(typeof line.route).toBe('string');
      for (const secret of [
        serviceClient.secret,
        wrongSecret,
        wrongPassword,
        alice.password,
        dpop,
        accessToken,
        tokens.access_token,
        tokens.refresh_token!,
      ]) {
        expect(logs).not.toContain(secret);
      }
      expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
      expect(logs).not.toContain(Buffer.from(`${serviceClient.id}:`).toString('base64').slice(0, 8));
    } finally {
      await t.app.close();
    }
  });
});
