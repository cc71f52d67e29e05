import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { halfHash } from '../../src/tokens/id-token.js';
import { alice, basicAuth, form, issuer, makeTestApp, resourceServer, spaRedirect, type TestApp } from '../helpers/app.js';
import { Browser, redirectParams } from '../helpers/browser.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';

describe('authorization code flow for a single-page app (PKCE, dpop_jkt, DPoP-bound refresh)', () => {
  let t: TestApp;
  let key: ProofKey;
  beforeAll(async () => {
    t = await makeTestApp();
    key = await makeProofKey();
  });
  afterAll(() => t.app.close());

  const introspect = (token: string) =>
    t.app.inject({
      method: 'POST',
      url: '/oidc/introspect',
      headers: { ...form, authorization: basicAuth(resourceServer.id, resourceServer.secret) },
      payload: `token=${token}`,
    });

  it('shows a sign-in page that cannot be framed, with a session-scoped interaction cookie', async () => {
    const browser = new Browser(t.app);
    const page = await browser.get(
      `/oidc/authorize?response_type=code&client_id=spa&redirect_uri=${encodeURIComponent(spaRedirect)}&scope=openid&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`,
    );
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['content-security-policy']).toContain(`form-action 'self' https://spa.example.test`);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['access-control-allow-origin']).toBeUndefined();
    expect(String(page.headers['set-cookie'])).toMatch(
      /^dpop_oidc_interaction=[^;]+; Max-Age=600; Path=\/oidc; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(page.body).toContain('name="password"');
  });

  it('signs in, consents, and exchanges the code for DPoP-bound tokens and an ID token', async () => {
    const browser = new Browser(t.app);
    const { redirect, code, verifier } = await signInAndConsent(browser, { dpopJkt: key.jkt });
    const params = redirectParams(redirect);
    expect(params.get('state')).toBe('state-123');
    expect(params.get('iss')).toBe(issuer);
    expect(String(redirect.headers.location).startsWith(`${spaRedirect}?`)).toBe(true);
    expect(String(browser.cookies.get('dpop_oidc_session'))).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const response = await tokenRequest(t, codeExchange(code, verifier), key);
    expect(response.statusCode).toBe(200);
    const tokens = response.json();
    expect(tokens.token_type).toBe('DPoP');
    expect(tokens.scope).toBe('openid profile email offline_access');
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: alice.sub, client_id: 'spa', cnf: { jkt: key.jkt } });

    const jwks = (await t.app.inject({ method: 'GET', url: '/oidc/jwks' })).json();
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token, createLocalJWKSet(jwks), {
      issuer,
      audience: 'spa',
      currentDate: new Date(t.clock()),
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({
      sub: alice.sub,
      nonce: 'nonce-456',
      azp: 'spa',
      auth_time: Math.floor(t.clock() / 1000),
      at_hash: halfHash(tokens.access_token, 'ES256'),
    });

    const profile = await t.app.inject({
      method: 'GET',
      url: '/oidc/profile',
      headers: {
        authorization: `DPoP ${tokens.access_token}`,
        dpop: await makeProof(key, { htm: 'GET', htu: `${issuer}/profile`, iat: t.clock() / 1000, accessToken: tokens.access_token }),
      },
    });
    expect(profile.statusCode).toBe(200);
    expect(profile.json()).toEqual({
      sub: alice.sub,
      name: 'Alice Example',
      preferred_username: 'alice',
      email: 'alice@example.test',
      email_verified: true,
    });

    // Refresh with the same key: rotation gives a new refresh token and a new bound access token.
    const refreshed = await tokenRequest(t, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'spa' }, key);
    expect(refreshed.statusCode).toBe(200);
    const next = refreshed.json();
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(next.token_type).toBe('DPoP');
    expect(decodeJwt(next.access_token).cnf).toEqual({ jkt: key.jkt });

    // Reuse of the rotated token revokes the whole grant (RFC 9700 §4.14); past the retry grace
    // (refreshToken.reuseGraceSeconds) that holds for the holder's own key too.
    t.clock.advance(61_000);
    const reuse = await tokenRequest(t, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'spa' }, key);
    expect(reuse.statusCode).toBe(400);
    expect(reuse.json().error).toBe('invalid_grant');
    const afterReuse = await tokenRequest(t, { grant_type: 'refresh_token', refresh_token: next.refresh_token, client_id: 'spa' }, key);
    expect(afterReuse.statusCode).toBe(400);
    expect(afterReuse.json().error).toBe('invalid_grant');
    expect((await introspect(next.access_token)).json()).toEqual({ active: false });
    expect((await introspect(tokens.access_token)).json()).toEqual({ active: false });
  });

  it('skips the sign-in page while the session lasts, and consent once given', async () => {
    const browser = new Browser(t.app);
    await signInAndConsent(browser);
    const again = await browser.get(
      `/oidc/authorize?response_type=code&client_id=spa&redirect_uri=${encodeURIComponent(spaRedirect)}&scope=openid%20profile&code_challenge=${'b'.repeat(43)}&code_challenge_method=S256&prompt=none`,
    );
    expect(again.statusCode).toBe(303);
    expect(redirectParams(again).get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
