import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, form, issuer, makeTestApp, resourceServer, serviceClient, type TestApp } from '../helpers/app.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';

/**
 * Requests as people send them after following a CAS walk-through of DPoP: the token in the
 * query, an empty JSON body, GET on introspection. Tokens in the URL stay refused (RFC 9449
 * §7.1, RFC 9700 §2.1), but every answer says what to send instead. Then the same flow in its
 * RFC form, which is what works here.
 */
describe('requests in the form of a CAS walk-through get answers that say what to do', () => {
  let t: TestApp;
  let key: ProofKey;
  let accessToken: string;
  const now = () => t.clock() / 1000;
  const profileUrl = `${issuer}/profile`;
  const headerAdvice =
    'access tokens are accepted only in the Authorization header: send Authorization: DPoP <access token> with a DPoP proof whose ath is the hash of that token';

  beforeAll(async () => {
    t = await makeTestApp();
    key = await makeProofKey();
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: {
        ...form,
        authorization: basicAuth(serviceClient.id, serviceClient.secret),
        dpop: await makeProof(key, { htu: `${issuer}/token`, iat: now() }),
      },
      payload: 'grant_type=client_credentials',
    });
    expect(response.statusCode).toBe(200);
    // RFC 6749 §5.1 / RFC 9449 §5: token_type, not tokenType.
    expect(response.json().token_type).toBe('DPoP');
    accessToken = response.json().access_token;
  });
  afterAll(() => t.app.close());

  it('POST /profile?token=<AT> with Content-Type: application/json and an empty body: 400 invalid_request naming the header', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: `/oidc/profile?token=${accessToken}`,
      headers: { 'content-type': 'application/json', dpop: await makeProof(key, { htu: profileUrl, iat: now(), accessToken }) },
      payload: '',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'invalid_request', error_description: headerAdvice });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(t.logs()).toContain('"reason":"token_in_query"');
  });

  it('POST /profile?token=<AT> without a content type: the same advice, not a bare invalid_token', async () => {
    const response = await t.app.inject({ method: 'POST', url: `/oidc/profile?token=${accessToken}` });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'invalid_request', error_description: headerAdvice });
  });

  it('the token in a form body under access_token or token: the same advice', async () => {
    for (const name of ['access_token', 'token']) {
      const response = await t.app.inject({ method: 'POST', url: '/oidc/profile', headers: form, payload: `${name}=${accessToken}` });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error: 'invalid_request', error_description: headerAdvice });
    }
  });

  it('an empty JSON body is no error at the profile endpoint', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/profile',
      headers: {
        'content-type': 'application/json',
        authorization: `DPoP ${accessToken}`,
        dpop: await makeProof(key, { htu: profileUrl, iat: now(), accessToken }),
      },
      payload: '',
    });
    expect(response.statusCode).toBe(200);
    // The profile has no DPoP or DPoPConfirmation claims: the binding is the token's cnf.jkt.
    expect(response.json()).toEqual({ sub: serviceClient.id });
  });

  it('a malformed JSON body is still refused', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/profile',
      headers: { 'content-type': 'application/json', authorization: `DPoP ${accessToken}` },
      payload: '{',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_request');
  });

  it('GET /introspect?token=<AT>: 405 with Allow: POST', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/oidc/introspect?token=${accessToken}` });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('POST');
    expect(response.json()).toEqual({ error: 'invalid_request', error_description: 'method GET is not allowed here; use POST' });
  });

  it('the RFC form: a DPoP proof with ath at the profile, and introspection by POST with client authentication (RFC 7662 §2.1)', async () => {
    const profile = await t.app.inject({
      method: 'GET',
      url: '/oidc/profile',
      headers: {
        authorization: `DPoP ${accessToken}`,
        dpop: await makeProof(key, { htm: 'GET', htu: profileUrl, iat: now(), accessToken }),
      },
    });
    expect(profile.statusCode).toBe(200);
    const introspection = await t.app.inject({
      method: 'POST',
      url: '/oidc/introspect',
      headers: { ...form, authorization: basicAuth(resourceServer.id, resourceServer.secret) },
      payload: `token=${accessToken}`,
    });
    expect(introspection.statusCode).toBe(200);
    expect(introspection.json()).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: key.jkt } });
  });
});
