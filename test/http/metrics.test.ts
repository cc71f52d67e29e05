import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basicAuth,
  form,
  issuer,
  makeTestApp,
  resourceServer,
  serviceClient,
  spaOrigin,
  storesFailingOnce,
  webClient,
  webRedirect,
  type TestApp,
} from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeProof, makeProofKey, type ProofKey, type ProofOptions } from '../helpers/dpop.js';
import { profileRequest, refreshRequest, spaTokens, webCode } from '../helpers/endpoints.js';
import { codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';
import { moved, scrape, type Scrape } from '../helpers/metrics.js';
import { freePort } from '../helpers/net.js';

/**
 * /metrics: Prometheus text from one registry per app. Each test scrapes before and after one
 * request and asserts which series moved, by how much, and that no other series of the metric did.
 */

const tokenUrl = `${issuer}/token`;
const profileUrl = `${issuer}/profile`;

async function measured(
  t: TestApp,
  send: () => Promise<LightMyRequestResponse>,
): Promise<{ response: LightMyRequestResponse; before: Scrape; after: Scrape }> {
  const before = await scrape(t);
  const response = await send();
  return { response, before, after: await scrape(t) };
}

function clientCredentials(t: TestApp, headers: Record<string, string>, clientId = serviceClient.id): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url: '/oidc/token',
    headers: { ...form, authorization: basicAuth(clientId, serviceClient.secret), ...headers },
    payload: 'grant_type=client_credentials',
  });
}

describe('DPoP refusals are counted by reason: dpop_oidc_dpop_proof_refusals_total{reason}', () => {
  let t: TestApp;
  let key: ProofKey;
  let otherKey: ProofKey;
  let dpopToken: string;
  let bearerToken: string;
  const proof = (options: Partial<ProofOptions> = {}, by = key) => makeProof(by, { htu: tokenUrl, iat: t.clock() / 1000, ...options });
  const atToken = (dpop: string, clientId = serviceClient.id) => clientCredentials(t, { dpop }, clientId);
  const atProfile = (authorization: string, dpop?: string) =>
    t.app.inject({ method: 'GET', url: '/oidc/profile', headers: { authorization, ...(dpop ? { dpop } : {}) } });

  beforeAll(async () => {
    t = await makeTestApp();
    key = await makeProofKey();
    otherKey = await makeProofKey();
    dpopToken = (await atToken(await proof())).json().access_token;
    bearerToken = (await clientCredentials(t, {})).json().access_token;
  });
  afterAll(() => t.app.close());

  const cases: Array<{ reason: string; status: number; error: string; send: () => Promise<LightMyRequestResponse> }> = [
    { reason: 'missing', status: 400, error: 'invalid_dpop_proof', send: () => clientCredentials(t, {}, 'bound-client') },
    { reason: 'multiple', status: 400, error: 'invalid_dpop_proof', send: async () => atToken(`${await proof()}, ${await proof()}`) },
    { reason: 'malformed', status: 400, error: 'invalid_dpop_proof', send: () => atToken('not-a-jwt') },
    { reason: 'typ', status: 400, error: 'invalid_dpop_proof', send: async () => atToken(await proof({ typ: 'JWT' })) },
    { reason: 'alg', status: 400, error: 'invalid_dpop_proof', send: async () => atToken(await proof({}, await makeProofKey('ES512'))) },
    { reason: 'jwk', status: 400, error: 'invalid_dpop_proof', send: async () => atToken(await proof({ jwk: null })) },
    { reason: 'signature', status: 400, error: 'invalid_dpop_proof', send: async () => atToken(await proof({ jwk: otherKey.publicJwk })) },
    { reason: 'jti', status: 400, error: 'invalid_dpop_proof', send: async () => atToken(await proof({ omit: ['jti'] })) },
    { reason: 'htm', status: 400, error: 'invalid_dpop_proof', send: async () => atToken(await proof({ htm: 'GET' })) },
    { reason: 'htu', status: 400, error: 'invalid_dpop_proof', send: async () => atToken(await proof({ htu: profileUrl })) },
    { reason: 'iat', status: 400, error: 'invalid_dpop_proof', send: async () => atToken(await proof({ iat: t.clock() / 1000 - 3600 })) },
    { reason: 'nonce', status: 400, error: 'use_dpop_nonce', send: async () => atToken(await proof(), 'nonce-client') },
    {
      reason: 'ath',
      status: 401,
      error: 'invalid_dpop_proof',
      send: async () => atProfile(`DPoP ${dpopToken}`, await proof({ htm: 'GET', htu: profileUrl, ath: 'not-the-hash' })),
    },
    { reason: 'jkt', status: 401, error: 'invalid_token', send: () => profileRequest(t, dpopToken, otherKey) },
    { reason: 'bearer_downgrade', status: 401, error: 'invalid_token', send: () => atProfile(`Bearer ${dpopToken}`) },
    {
      reason: 'not_bound',
      status: 401,
      error: 'invalid_token',
      send: async () => atProfile(`DPoP ${bearerToken}`, await proof({ htm: 'GET', htu: profileUrl, accessToken: bearerToken })),
    },
  ];

  it.each(cases)('counts a refusal for $reason once, and no other reason', async ({ reason, status, error, send }) => {
    const { response, before, after } = await measured(t, send);
    expect(response.statusCode).toBe(status);
    expect(response.json().error).toBe(error);
    expect(moved(before, after, 'dpop_oidc_dpop_proof_refusals_total')).toEqual({ [reason]: 1 });
  });

  it('counts a replayed proof once, as replay', async () => {
    const replayed = await proof();
    expect((await atToken(replayed)).statusCode).toBe(200);
    const { response, before, after } = await measured(t, () => atToken(replayed));
    expect(response.statusCode).toBe(400);
    expect(moved(before, after, 'dpop_oidc_dpop_proof_refusals_total')).toEqual({ replay: 1 });
  });

  it('counts a proof whose key is not the dpop_jkt of the code once, as dpop_jkt', async () => {
    const { code, verifier } = await signInAndConsent(new Browser(t.app), { dpopJkt: key.jkt });
    const { response, before, after } = await measured(t, () => tokenRequest(t, codeExchange(code, verifier), otherKey));
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_grant');
    expect(moved(before, after, 'dpop_oidc_dpop_proof_refusals_total')).toEqual({ dpop_jkt: 1 });
  });

  it('shows every reason from the start, at 0 until it happens', async () => {
    const fresh = await makeTestApp();
    try {
      const scraped = await scrape(fresh);
      // Every DpopFailureReason of src/dpop/verify-proof.ts, and the key-binding checks around it.
      const reasons = [
        'missing',
        'multiple',
        'malformed',
        'typ',
        'alg',
        'jwk',
        'signature',
        'jti',
        'htm',
        'htu',
        'iat',
        'nonce',
        'ath',
        'replay',
        'replay_quota',
      ];
      for (const reason of [...reasons, 'jkt', 'dpop_jkt', 'bearer_downgrade', 'not_bound']) {
        expect(scraped.value('dpop_oidc_dpop_proof_refusals_total', { reason })).toBe(0);
      }
    } finally {
      await fresh.app.close();
    }
  });

  it('counts a use_dpop_nonce answer as a nonce challenge, for a missing and for a stale nonce', async () => {
    const missing = await measured(t, async () => atToken(await proof(), 'nonce-client'));
    expect(missing.response.headers['dpop-nonce']).toBeDefined();
    expect(moved(missing.before, missing.after, 'dpop_oidc_dpop_nonce_challenges_total')).toEqual({ '(no labels)': 1 });
    const stale = await measured(t, async () => atToken(await proof({ nonce: 'stale-nonce' }), 'nonce-client'));
    expect(stale.response.json().error).toBe('use_dpop_nonce');
    expect(moved(stale.before, stale.after, 'dpop_oidc_dpop_nonce_challenges_total')).toEqual({ '(no labels)': 1 });
  });
});

describe('a refusal by the per-credential replay bound is counted as replay_quota', () => {
  it('counts the 429 once as a DPoP refusal and once as a rate-limit refusal of the token route', async () => {
    const t = await makeTestApp({ dpop: { replayCacheMaxEntriesPerOwner: 1 } });
    try {
      const key = await makeProofKey();
      const send = async () => clientCredentials(t, { dpop: await makeProof(key, { htu: tokenUrl, iat: t.clock() / 1000 }) });
      expect((await send()).statusCode).toBe(200);
      const { response, before, after } = await measured(t, send);
      expect(response.statusCode).toBe(429);
      expect(moved(before, after, 'dpop_oidc_dpop_proof_refusals_total')).toEqual({ replay_quota: 1 });
      expect(moved(before, after, 'dpop_oidc_rate_limit_refusals_total')).toEqual({ '/oidc/token,replay_quota': 1 });
    } finally {
      await t.app.close();
    }
  });
});

describe('tokens issued, by grant type and token type: dpop_oidc_tokens_issued_total{grant_type,token_type}', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.app.close());
  const issued = (before: Scrape, after: Scrape) => moved(before, after, 'dpop_oidc_tokens_issued_total');

  it('counts client_credentials with and without a proof', async () => {
    const key = await makeProofKey();
    const dpop = await measured(t, async () =>
      clientCredentials(t, { dpop: await makeProof(key, { htu: tokenUrl, iat: t.clock() / 1000 }) }),
    );
    expect(dpop.response.json().token_type).toBe('DPoP');
    expect(issued(dpop.before, dpop.after)).toEqual({ 'client_credentials,DPoP': 1 });
    const bearer = await measured(t, () => clientCredentials(t, {}));
    expect(bearer.response.json().token_type).toBe('Bearer');
    expect(issued(bearer.before, bearer.after)).toEqual({ 'client_credentials,Bearer': 1 });
  });

  it('counts authorization_code and refresh_token with DPoP, and a code redeemed without a proof as Bearer', async () => {
    const key = await makeProofKey();
    const { code, verifier } = await signInAndConsent(new Browser(t.app), { dpopJkt: key.jkt });
    const exchanged = await measured(t, () => tokenRequest(t, codeExchange(code, verifier), key));
    expect(exchanged.response.statusCode).toBe(200);
    expect(issued(exchanged.before, exchanged.after)).toEqual({ 'authorization_code,DPoP': 1 });
    const refreshed = await measured(t, () => refreshRequest(t, exchanged.response.json().refresh_token, key));
    expect(refreshed.response.statusCode).toBe(200);
    expect(issued(refreshed.before, refreshed.after)).toEqual({ 'refresh_token,DPoP': 1 });

    const webBrowserCode = await webCode(new Browser(t.app));
    const web = await measured(t, () =>
      t.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { ...form, authorization: basicAuth(webClient.id, webClient.secret) },
        payload: new URLSearchParams({ grant_type: 'authorization_code', code: webBrowserCode, redirect_uri: webRedirect }).toString(),
      }),
    );
    expect(web.response.statusCode).toBe(200);
    expect(issued(web.before, web.after)).toEqual({ 'authorization_code,Bearer': 1 });
  });

  it('counts nothing for a refused token request', async () => {
    const { response, before, after } = await measured(t, () => clientCredentials(t, { dpop: 'not-a-jwt' }));
    expect(response.statusCode).toBe(400);
    expect(issued(before, after)).toEqual({});
  });
});

describe('client authentication failures, by the method presented: dpop_oidc_client_auth_failures_total{method}', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.app.close());
  const token = (payload: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/oidc/token', headers: { ...form, ...headers }, payload });

  it.each([
    {
      method: 'client_secret_basic',
      send: () => token('grant_type=client_credentials', { authorization: basicAuth(serviceClient.id, 'wrong') }),
    },
    {
      method: 'client_secret_basic',
      send: () => token('grant_type=client_credentials', { authorization: basicAuth('no-such-client', 'wrong') }),
    },
    { method: 'client_secret_post', send: () => token('grant_type=client_credentials&client_id=post-client&client_secret=wrong') },
    { method: 'none', send: () => token('grant_type=client_credentials&client_id=no-such-client') },
    {
      method: 'private_key_jwt',
      send: () =>
        token(
          `grant_type=client_credentials&client_assertion_type=${encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')}&client_assertion=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.c2ln`,
        ),
    },
  ])('counts a failure with $method once', async ({ method, send }) => {
    const { response, before, after } = await measured(t, send);
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_client');
    expect(moved(before, after, 'dpop_oidc_client_auth_failures_total')).toEqual({ [method]: 1 });
  });

  it('counts a failure at the introspection endpoint too', async () => {
    const { response, before, after } = await measured(t, () =>
      t.app.inject({
        method: 'POST',
        url: '/oidc/introspect',
        headers: { ...form, authorization: basicAuth(resourceServer.id, 'wrong') },
        payload: 'token=x',
      }),
    );
    expect(response.statusCode).toBe(401);
    expect(moved(before, after, 'dpop_oidc_client_auth_failures_total')).toEqual({ client_secret_basic: 1 });
  });
});

describe('reuse of a code or a refresh token: dpop_oidc_token_reuse_detected_total{kind}', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.app.close());

  it('counts a code redeemed twice once, as code', async () => {
    const [key, otherKey] = await Promise.all([makeProofKey(), makeProofKey()]);
    const { code, verifier } = await signInAndConsent(new Browser(t.app));
    expect((await tokenRequest(t, codeExchange(code, verifier), key)).statusCode).toBe(200);
    // By another key: the holder's own retry within the grace is answered, not reuse.
    const { response, before, after } = await measured(t, () => tokenRequest(t, codeExchange(code, verifier), otherKey));
    expect(response.json().error).toBe('invalid_grant');
    expect(moved(before, after, 'dpop_oidc_token_reuse_detected_total')).toEqual({ code: 1 });
    expect(moved(before, after, 'dpop_oidc_security_events_total')).toEqual({ code_reuse: 1 });
  });

  it('counts a refresh token used twice once, as refresh_token', async () => {
    const key = await makeProofKey();
    const tokens = await spaTokens(t, key);
    expect((await refreshRequest(t, tokens.refresh_token!, key)).statusCode).toBe(200);
    // Past the retry grace (refreshToken.reuseGraceSeconds), a second use is reuse.
    t.clock.advance(61_000);
    const { response, before, after } = await measured(t, () => refreshRequest(t, tokens.refresh_token!, key));
    expect(response.json().error).toBe('invalid_grant');
    expect(moved(before, after, 'dpop_oidc_token_reuse_detected_total')).toEqual({ refresh_token: 1 });
    expect(moved(before, after, 'dpop_oidc_security_events_total')).toEqual({ refresh_token_reuse: 1 });
  });
});

describe('stores: time of each operation and errors, by store and operation', () => {
  it('counts a store that cannot answer in dpop_oidc_store_errors_total{store,operation} and answers 503', async () => {
    const { stores, failNext } = await storesFailingOnce();
    const t = await makeTestApp({}, { stores });
    try {
      const key = await makeProofKey();
      const { code, verifier } = await signInAndConsent(new Browser(t.app), { dpopJkt: key.jkt });
      failNext();
      const { response, before, after } = await measured(t, () => tokenRequest(t, codeExchange(code, verifier), key));
      expect(response.statusCode).toBe(503);
      expect(response.json().error).toBe('temporarily_unavailable');
      expect(moved(before, after, 'dpop_oidc_store_errors_total')).toEqual({ 'grants,addAccessToken': 1 });
      // Every call is timed, the failed one included.
      const timed = moved(before, after, 'dpop_oidc_store_operation_duration_seconds_count');
      expect(timed['grants,addAccessToken']).toBe(1);
      expect(timed['codes,peek']).toBe(1);
      expect(timed['grants,create']).toBe(1);
      expect(t.logs()).toContain('"msg":"store unavailable: failing closed"');
    } finally {
      await t.app.close();
    }
  });

  it('shows the live entries of the memory replay cache and its bound', async () => {
    const t = await makeTestApp({ dpop: { replayCacheMaxEntries: 5000 } });
    try {
      const key = await makeProofKey();
      const { before, after } = await measured(t, async () =>
        clientCredentials(t, { dpop: await makeProof(key, { htu: tokenUrl, iat: t.clock() / 1000 }) }),
      );
      expect(moved(before, after, 'dpop_oidc_replay_cache_entries')).toEqual({ '(no labels)': 1 });
      expect(after.value('dpop_oidc_replay_cache_capacity')).toBe(5000);
      expect(moved(before, after, 'dpop_oidc_store_operation_duration_seconds_count')).toEqual({ 'replay_cache,claim': 1 });
    } finally {
      await t.app.close();
    }
  });
});

describe('HTTP requests, signing keys, proof clock skew, process metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.app.close());

  it('counts requests by route template, method and status, and times them by route template', async () => {
    const { before, after } = await measured(t, () => clientCredentials(t, {}));
    // The scrape before is counted too.
    expect(moved(before, after, 'dpop_oidc_http_requests_total')).toEqual({ '/oidc/token,POST,200': 1, '/metrics,GET,200': 1 });
    expect(moved(before, after, 'dpop_oidc_http_request_duration_seconds_count')).toEqual({ '/oidc/token': 1, '/metrics': 1 });
    // An unknown path is one series, whatever the path: never the raw URL.
    const unknown = await measured(t, async () => {
      await t.app.inject({ method: 'GET', url: '/oidc/a-path-of-its-own?x=1' });
      return t.app.inject({ method: 'GET', url: '/oidc/another-path' });
    });
    expect(moved(unknown.before, unknown.after, 'dpop_oidc_http_requests_total')).toEqual({
      'unmatched,GET,404': 2,
      '/metrics,GET,200': 1,
    });
  });

  it('observes iat minus server time of an accepted proof in dpop_oidc_dpop_proof_clock_skew_seconds', async () => {
    const key = await makeProofKey();
    // Proofs made before the app started are refused (its replay cache is in memory).
    t.clock.advance(30_000);
    const proofTenSecondsOld = await makeProof(key, { htu: tokenUrl, iat: t.clock() / 1000 - 10 });
    const { response, before, after } = await measured(t, () => clientCredentials(t, { dpop: proofTenSecondsOld }));
    expect(response.statusCode).toBe(200);
    const skew = moved(before, after, 'dpop_oidc_dpop_proof_clock_skew_seconds_bucket');
    // Cumulative buckets: in le=-10 and every one above it, not in le=-15.
    expect(skew['-15']).toBeUndefined();
    expect(skew['-10']).toBe(1);
    expect(skew['+Inf']).toBe(1);
    expect(moved(before, after, 'dpop_oidc_dpop_proof_clock_skew_seconds_sum')).toEqual({ '(no labels)': -10 });
    // A refused proof is not observed.
    const refused = await measured(t, () => clientCredentials(t, { dpop: proofTenSecondsOld }));
    expect(refused.response.statusCode).toBe(400);
    expect(moved(refused.before, refused.after, 'dpop_oidc_dpop_proof_clock_skew_seconds_count')).toEqual({});
  });

  it('names the signing key in dpop_oidc_signing_key_info{kid,alg,state}', async () => {
    const jwks = (await t.app.inject({ method: 'GET', url: '/oidc/jwks' })).json() as { keys: Array<{ kid: string; alg: string }> };
    const scraped = await scrape(t);
    expect(scraped.series('dpop_oidc_signing_key_info')).toEqual([
      { labels: { kid: jwks.keys[0]!.kid, alg: 'ES256', state: 'signing' }, value: 1 },
    ]);
  });

  it('includes the default process metrics', async () => {
    const scraped = await scrape(t);
    expect(scraped.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(scraped.value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });
});

describe('the /metrics endpoint', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.app.close());

  it('answers GET with Prometheus text, never cached', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toContain('# TYPE dpop_oidc_http_requests_total counter');
    expect(response.body).toContain('# TYPE dpop_oidc_http_request_duration_seconds histogram');
  });

  it('answers no CORS, even to an Origin allowed at the token endpoint', async () => {
    const allowedThere = await t.app.inject({
      method: 'OPTIONS',
      url: '/oidc/token',
      headers: { origin: spaOrigin, 'access-control-request-method': 'POST' },
    });
    expect(allowedThere.headers['access-control-allow-origin']).toBe(spaOrigin);
    const get = await t.app.inject({ method: 'GET', url: '/metrics', headers: { origin: spaOrigin } });
    expect(get.statusCode).toBe(200);
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/metrics',
      headers: { origin: spaOrigin, 'access-control-request-method': 'GET' },
    });
    for (const response of [get, preflight]) {
      expect(Object.keys(response.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    }
  });

  it('refuses POST with 405 and Allow', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/metrics' });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
  });

  it('is absent when metrics are off (metrics.enabled false)', async () => {
    const off = await makeTestApp({ metrics: { enabled: false } });
    try {
      expect((await off.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
      // Requests are still answered and logged, with their id.
      const answered = await clientCredentials(off, {});
      expect(answered.statusCode).toBe(200);
      expect(off.logs()).toContain(`"reqId":"${answered.headers['x-request-id']}"`);
      expect(off.logs()).toContain('"route":"/oidc/token"');
    } finally {
      await off.app.close();
    }
  });
});

describe('/metrics on a port of its own (metrics.port)', () => {
  it('is served only there, on a real socket, and stops with the app', async () => {
    const adminPort = await freePort();
    const t = await makeTestApp({ metrics: { enabled: true, port: adminPort, host: '127.0.0.1' } });
    let closed = false;
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const mainPort = (t.app.server.address() as { port: number }).port;
      const admin = `http://127.0.0.1:${adminPort}`;
      expect((await fetch(`http://127.0.0.1:${mainPort}/oidc/jwks`)).status).toBe(200);

      const metrics = await fetch(`${admin}/metrics`, { headers: { origin: spaOrigin } });
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(metrics.headers.get('cache-control')).toBe('no-store');
      expect(metrics.headers.get('access-control-allow-origin')).toBeNull();
      const text = await metrics.text();
      expect(text).toContain('dpop_oidc_http_requests_total{route="/oidc/jwks",method="GET",status="200"} 1');

      expect((await fetch(`http://127.0.0.1:${mainPort}/metrics`)).status).toBe(404);
      expect((await fetch(`${admin}/oidc/jwks`)).status).toBe(404);
      const post = await fetch(`${admin}/metrics`, { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');

      await t.app.close();
      closed = true;
      await expect(fetch(`${admin}/metrics`)).rejects.toThrow();
    } finally {
      if (!closed) await t.app.close();
    }
  });

  it('stops start-up when its port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const t = await makeTestApp({ metrics: { enabled: true, port, host: '127.0.0.1' } });
    try {
      await expect(t.app.listen({ port: 0, host: '127.0.0.1' })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await t.app.close().catch(() => undefined);
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('docs/metrics.md and docs/grafana-dashboard.json', () => {
  let names: string[];
  beforeAll(async () => {
    const t = await makeTestApp();
    try {
      const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      names = [...body.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]!);
    } finally {
      await t.app.close();
    }
  });

  it('lists every metric the provider exposes', () => {
    const documented = readFileSync('docs/metrics.md', 'utf8');
    const provider = names.filter((name) => name.startsWith('dpop_oidc_'));
    expect(provider.length).toBeGreaterThanOrEqual(16);
    for (const name of provider) expect(documented, name).toContain(`\`${name}\``);
  });

  it('queries only metrics that are exposed', () => {
    const dashboard = JSON.parse(readFileSync('docs/grafana-dashboard.json', 'utf8')) as {
      panels: Array<{ targets?: Array<{ expr: string }> }>;
    };
    const queried = new Set(
      dashboard.panels
        .flatMap((panel) => panel.targets ?? [])
        .flatMap((target) => [...target.expr.matchAll(/\b((?:dpop_oidc|process|nodejs)_[a-z0-9_]+)/g)].map((match) => match[1]!)),
    );
    expect(queried.size).toBeGreaterThanOrEqual(15);
    for (const name of queried) expect(names, name).toContain(name.replace(/_(bucket|sum|count)$/, ''));
  });
});
