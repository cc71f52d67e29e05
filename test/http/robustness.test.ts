import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, issuer, makeTestApp, resourceServer, serviceClient, type TestApp } from '../helpers/app.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';

/**
 * Whatever a client sends, the answer is a client error with a clear body, never a 500, a hang
 * or a stack trace (property tests with fast-check over every endpoint).
 */
const parameterNames = [
  'grant_type',
  'client_id',
  'client_secret',
  'scope',
  'code',
  'code_verifier',
  'redirect_uri',
  'refresh_token',
  'token',
  'token_type_hint',
  'response_type',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'dpop_jkt',
  'prompt',
  'max_age',
  'interaction',
  'csrf',
  'username',
  'password',
  'decision',
  'id_token_hint',
  'post_logout_redirect_uri',
  'access_token',
  '__proto__',
  'constructor',
];
const knownValues = [
  'client_credentials',
  'authorization_code',
  'refresh_token',
  'code',
  'S256',
  'plain',
  'none',
  'spa',
  'service',
  'openid',
  '',
];

const paramValue = fc.oneof(fc.constantFrom(...knownValues), fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }));
const formBody = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...parameterNames), fc.string({ maxLength: 10 })), paramValue), { maxLength: 8 })
  .map((pairs) => pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&'));

const endpoints: Array<{ method: 'GET' | 'POST'; url: string }> = [
  { method: 'POST', url: '/oidc/token' },
  { method: 'POST', url: '/oidc/introspect' },
  { method: 'POST', url: '/oidc/revoke' },
  { method: 'GET', url: '/oidc/profile' },
  { method: 'POST', url: '/oidc/profile' },
  { method: 'GET', url: '/oidc/authorize' },
  { method: 'POST', url: '/oidc/authorize' },
  { method: 'POST', url: '/oidc/login' },
  { method: 'POST', url: '/oidc/consent' },
  { method: 'GET', url: '/oidc/logout' },
  { method: 'POST', url: '/oidc/logout' },
];

describe('robustness: no client input gives a 500', () => {
  let t: TestApp;
  let key: ProofKey;
  beforeAll(async () => {
    t = await makeTestApp({ logLevel: 'silent' });
    key = await makeProofKey();
  });
  afterAll(() => t.app.close());

  function expectClientError(response: { statusCode: number; body: string }): void {
    expect(response.statusCode).toBeGreaterThanOrEqual(200);
    expect(response.statusCode).toBeLessThan(500);
    // No stack trace: no "at fn (file:line:col)" frames, no source paths.
    expect(response.body).not.toMatch(/\bat \S+ \(|\.[jt]s:\d+:\d+|node_modules/);
  }

  it('answers random forms, queries and headers on every endpoint with a 2xx-4xx', async () => {
    const authorization = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(
        basicAuth(serviceClient.id, serviceClient.secret),
        basicAuth(resourceServer.id, resourceServer.secret),
        'Basic',
        'Basic !!!',
        'Bearer',
        'DPoP a.b.c',
        'Bearer eyJ.eyJ.x',
      ),
      fc.string({ maxLength: 60 }).map((value) => value.replace(/[\r\n]/g, '')),
    );
    const dpop = fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 80 }).map((value) => value.replace(/[\r\n]/g, '')),
      fc.constant('a.b.c'),
    );
    const contentType = fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', 'multipart/form-data');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...endpoints),
        formBody,
        authorization,
        dpop,
        contentType,
        async (endpoint, body, auth, proof, type) => {
          const headers: Record<string, string> = {};
          if (auth !== undefined) headers.authorization = auth;
          if (proof !== undefined) headers.dpop = proof;
          const response =
            endpoint.method === 'GET'
              ? await t.app.inject({ method: 'GET', url: `${endpoint.url}?${body}`, headers })
              : await t.app.inject({ method: 'POST', url: endpoint.url, headers: { ...headers, 'content-type': type }, payload: body });
          expectClientError(response);
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 400) },
    );
  });

  it('answers signed proofs with arbitrary headers and claims with 400 at the token endpoint', async () => {
    const claims = fc.dictionary(fc.constantFrom('jti', 'htm', 'htu', 'iat', 'nonce', 'ath', 'exp', 'x'), fc.jsonValue(), { maxKeys: 6 });
    const header = fc.record({
      typ: fc.oneof(fc.constant('dpop+jwt'), fc.string({ maxLength: 12 })),
      jwk: fc.oneof(fc.constant(key.publicJwk), fc.jsonValue()),
    });
    await fc.assert(
      fc.asyncProperty(header, claims, async (protectedHeader, payload) => {
        const proof = await new SignJWT(payload as Record<string, unknown>)
          .setProtectedHeader({ ...(protectedHeader as Record<string, unknown>), alg: 'ES256' })
          .sign(key.privateKey);
        const response = await t.app.inject({
          method: 'POST',
          url: '/oidc/token',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: basicAuth(serviceClient.id, serviceClient.secret),
            dpop: proof,
          },
          payload: 'grant_type=client_credentials',
        });
        expectClientError(response);
        expect(response.statusCode).toBe(400);
        expect(['invalid_dpop_proof', 'use_dpop_nonce']).toContain(response.json().error);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a huge body with 413 and a JSON error, not a crash', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=${'x'.repeat(200_000)}`,
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().error).toBe('invalid_request');
  });

  it('keeps issuer-derived URLs whatever Host says', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/oidc/.well-known/openid-configuration',
      headers: { host: 'evil.example' },
    });
    expect(response.json().token_endpoint).toBe(`${issuer}/token`);
  });
});
