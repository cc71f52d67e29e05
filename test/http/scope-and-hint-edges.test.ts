import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, form, makeTestApp, serviceClient, spaRedirect, type TestApp } from '../helpers/app.js';
import { Browser, redirectParams } from '../helpers/browser.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { authorizeUrl, codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';

describe('scope defaults and logout hints', () => {
  let t: TestApp;
  let key: ProofKey;
  beforeAll(async () => {
    t = await makeTestApp();
    key = await makeProofKey();
  });
  afterAll(() => t.app.close());

  it('refuses an authorization request without scope with invalid_scope (no default grant of everything)', async () => {
    const response = await new Browser(t.app).get(authorizeUrl('c'.repeat(43), { params: { scope: undefined } }));
    expect(response.statusCode).toBe(303);
    expect(String(response.headers.location).startsWith(`${spaRedirect}?`)).toBe(true);
    const params = redirectParams(response);
    expect(params.get('error')).toBe('invalid_scope');
    expect(params.get('state')).toBe('state-123');
  });

  it('treats an empty scope on refresh as no scope: the grant keeps its scope', async () => {
    const { code, verifier } = await signInAndConsent(new Browser(t.app), { scope: 'openid profile offline_access' });
    const tokens = (await tokenRequest(t, codeExchange(code, verifier), key)).json();
    const refreshed = await tokenRequest(
      t,
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'spa', scope: '' },
      key,
    );
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.json().scope).toBe('openid profile offline_access');
  });

  it('refuses an access token as id_token_hint at logout', async () => {
    const accessToken = (
      await t.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret) },
        payload: 'grant_type=client_credentials',
      })
    ).json().access_token;
    const response = await t.app.inject({ method: 'GET', url: `/oidc/logout?id_token_hint=${accessToken}` });
    expect(response.statusCode).toBe(400);
    expect(response.headers.location).toBeUndefined();
    expect(response.body).toContain('id_token_hint is not a valid ID token');
  });
});
