import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alice, issuer, makeTestApp, spaRedirect, type TestApp } from '../helpers/app.js';
import { Browser, pkcePair, redirectParams } from '../helpers/browser.js';
import { authorizeUrl, codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';

const firstParty = { clientId: 'first-party-spa', redirectUri: 'http://localhost:5173/callback', scope: 'openid profile' };

/** Errors that must not go to an unverified redirect URI are shown as a page (RFC 6749 §4.1.2.1). */
function expectErrorPage(response: LightMyRequestResponse, error: string): void {
  expect(response.statusCode).toBe(400);
  expect(response.headers.location).toBeUndefined();
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(response.headers['x-frame-options']).toBe('DENY');
  expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(response.body).toContain(`<code>${error}</code>`);
}

/** Errors for a verified redirect URI go back to it, with state and iss (RFC 6749 §4.1.2.1, RFC 9207). */
function expectErrorRedirect(response: LightMyRequestResponse, error: string, redirectUri = spaRedirect): URLSearchParams {
  expect(response.statusCode).toBe(303);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(String(response.headers.location).startsWith(`${redirectUri}?`)).toBe(true);
  const params = redirectParams(response);
  expect(params.get('error')).toBe(error);
  expect(params.get('state')).toBe('state-123');
  expect(params.get('iss')).toBe(issuer);
  expect(params.has('code')).toBe(false);
  return params;
}

function expectLoginPage(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(200);
  expect(response.body).toContain('name="password"');
}

function expectCode(response: LightMyRequestResponse, redirectUri: string): string {
  expect(response.statusCode).toBe(303);
  expect(String(response.headers.location).startsWith(`${redirectUri}?`)).toBe(true);
  const code = redirectParams(response).get('code');
  expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return code!;
}

describe('the authorization endpoint refuses requests (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6)', () => {
  let t: TestApp;
  const { challenge } = pkcePair();
  beforeEach(async () => {
    t = await makeTestApp();
  });
  afterEach(() => t.app.close());

  const get = (params: Record<string, string | undefined>, options: Parameters<typeof authorizeUrl>[1] = {}) =>
    t.app.inject({ method: 'GET', url: authorizeUrl(challenge, { ...options, params }) });

  /** A browser with alice signed in through the first-party client (which asks no consent). */
  async function signedInBrowser(): Promise<Browser> {
    const browser = new Browser(t.app);
    await signInAndConsent(browser, firstParty);
    expect(browser.cookies.has('dpop_oidc_session')).toBe(true);
    return browser;
  }

  describe('errors about the client or redirect_uri are shown, never redirected', () => {
    it('shows a page for an unknown client_id', async () => {
      expectErrorPage(await get({}, { clientId: 'nobody' }), 'invalid_request');
    });

    it('shows a page for a missing client_id', async () => {
      expectErrorPage(await get({ client_id: undefined }), 'invalid_request');
    });

    it('shows a page for a client that may not use the code flow', async () => {
      expectErrorPage(await get({}, { clientId: 'service' }), 'invalid_request');
    });

    it.each([
      ['another origin', 'https://evil.example/callback'],
      ['another path', 'https://spa.example.test/callback/other'],
      ['an added query', 'https://spa.example.test/callback?next=https://evil.example'],
      ['a trailing slash', 'https://spa.example.test/callback/'],
      ['another case', 'https://SPA.example.test/callback'],
    ])('shows a page for a redirect_uri with %s (exact match, RFC 9700 §2.1)', async (_name, redirectUri) => {
      expectErrorPage(await get({}, { redirectUri }), 'invalid_request');
    });

    it('shows a page for a missing redirect_uri', async () => {
      expectErrorPage(await get({ redirect_uri: undefined }), 'invalid_request');
    });

    it('shows a page for a repeated redirect_uri', async () => {
      const response = await t.app.inject({
        method: 'GET',
        url: `${authorizeUrl(challenge)}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`,
      });
      expectErrorPage(response, 'invalid_request');
    });

    it('shows a page, not a redirect, for response_type=token from an unknown client', async () => {
      expectErrorPage(await get({ response_type: 'token' }, { clientId: 'nobody' }), 'invalid_request');
    });
  });

  describe('other errors are redirected to the registered redirect_uri with state and iss', () => {
    it.each(['token', 'id_token', 'code id_token', 'code token'])(
      'refuses response_type=%s with unsupported_response_type (RFC 9700 §2.1.2)',
      async (responseType) => {
        expectErrorRedirect(await get({ response_type: responseType }), 'unsupported_response_type');
      },
    );

    it('refuses a missing response_type with unsupported_response_type', async () => {
      expectErrorRedirect(await get({ response_type: undefined }), 'unsupported_response_type');
    });

    it('refuses a public client without code_challenge (RFC 9700 §2.1.1)', async () => {
      const response = await t.app.inject({ method: 'GET', url: authorizeUrl(undefined) });
      expectErrorRedirect(response, 'invalid_request');
    });

    it('refuses code_challenge_method=plain (RFC 9700 §2.1.1)', async () => {
      expectErrorRedirect(await get({ code_challenge_method: 'plain' }), 'invalid_request');
    });

    it('refuses a code_challenge without code_challenge_method, which would mean plain (RFC 7636 §4.3)', async () => {
      expectErrorRedirect(await get({ code_challenge_method: undefined }), 'invalid_request');
    });

    it('refuses a malformed code_challenge', async () => {
      expectErrorRedirect(await get({ code_challenge: 'too-short' }), 'invalid_request');
    });

    it('refuses a repeated parameter (two scope parameters, RFC 6749 §3.1)', async () => {
      const response = await t.app.inject({ method: 'GET', url: `${authorizeUrl(challenge, { scope: 'openid' })}&scope=profile` });
      expectErrorRedirect(response, 'invalid_request');
    });

    it('refuses a login_hint longer than any username (255), which would be kept before sign-in', async () => {
      const params = expectErrorRedirect(await get({ login_hint: 'a'.repeat(256) }), 'invalid_request');
      expect(params.get('error_description')).toBe('login_hint is too long');
      const page = await get({ login_hint: 'a'.repeat(255) });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain(`value="${'a'.repeat(255)}"`);
    });

    it('keeps error_description to the RFC 6749 §4.1.2.1 character set when it names a client parameter', async () => {
      const response = await t.app.inject({ method: 'GET', url: `${authorizeUrl(challenge)}&%22x%C3%A9%5C=1&%22x%C3%A9%5C=2` });
      const params = expectErrorRedirect(response, 'invalid_request');
      expect(params.get('error_description')).toBe('parameter x is repeated or malformed');
    });

    it.each([
      ['too short', 'abc'],
      ['not base64url', `${'a'.repeat(42)}+`],
      ['too long', 'a'.repeat(44)],
    ])('refuses a dpop_jkt that is %s (RFC 9449 §10)', async (_name, dpopJkt) => {
      expectErrorRedirect(await get({ dpop_jkt: dpopJkt }), 'invalid_request');
    });

    it('refuses a scope the client may not ask for with invalid_scope', async () => {
      const params = expectErrorRedirect(await get({}, { scope: 'openid api:write' }), 'invalid_scope');
      expect(params.get('error_description')).toContain('api:write');
    });

    it('refuses an unknown prompt value', async () => {
      expectErrorRedirect(await get({ prompt: 'select_account' }), 'invalid_request');
    });

    it('refuses prompt=none combined with another value (OIDC Core §3.1.2.1)', async () => {
      expectErrorRedirect(await get({ prompt: 'none login' }), 'invalid_request');
    });

    it('refuses a max_age that is not a number of seconds', async () => {
      expectErrorRedirect(await get({ max_age: '-1' }), 'invalid_request');
    });

    it('refuses request objects, which are not supported', async () => {
      expectErrorRedirect(await get({ request: 'eyJhbGciOiJub25lIn0.e30.' }), 'invalid_request');
    });

    it('answers prompt=none without a session with login_required (OIDC Core §3.1.2.6)', async () => {
      expectErrorRedirect(await get({ prompt: 'none' }), 'login_required');
    });

    it('answers prompt=none for a non-first-party client without consent with consent_required', async () => {
      const browser = await signedInBrowser();
      const response = await browser.get(authorizeUrl(challenge, { params: { prompt: 'none' } }));
      expectErrorRedirect(response, 'consent_required');
    });

    it('answers prompt=none for a client consented to with fewer scopes with consent_required', async () => {
      const browser = new Browser(t.app);
      await signInAndConsent(browser, { scope: 'openid' });
      const response = await browser.get(authorizeUrl(challenge, { scope: 'openid email', params: { prompt: 'none' } }));
      expectErrorRedirect(response, 'consent_required');
    });

    it('sends access_denied when the user denies consent, and no code', async () => {
      const browser = new Browser(t.app);
      const login = await browser.get(authorizeUrl(challenge));
      const consent = await browser.submit(login, { username: alice.username, password: alice.password });
      expect(consent.body).toContain('name="decision"');
      const denied = await browser.submit(consent, { decision: 'deny' });
      expectErrorRedirect(denied, 'access_denied');
      // The denial is not remembered as a consent.
      expectErrorRedirect(await browser.get(authorizeUrl(challenge, { params: { prompt: 'none' } })), 'consent_required');
    });
  });

  describe('sign-in and consent as the request asks', () => {
    it('shows the sign-in page again for prompt=login with a session, and takes the new auth_time', async () => {
      const browser = await signedInBrowser();
      const signedInAt = Math.floor(t.clock() / 1000);
      t.clock.advance(10_000);
      const { verifier, challenge: fresh } = pkcePair();
      const login = await browser.get(authorizeUrl(fresh, { ...firstParty, params: { prompt: 'login' } }));
      expectLoginPage(login);
      const code = expectCode(await browser.submit(login, { username: alice.username, password: alice.password }), firstParty.redirectUri);
      const tokens = await tokenRequest(t, codeExchange(code, verifier, firstParty.clientId, firstParty.redirectUri));
      expect(tokens.statusCode).toBe(200);
      expect(decodeJwt(tokens.json().id_token).auth_time).toBe(signedInAt + 10);
    });

    it('forces a sign-in with max_age=0 once the clock has moved on (OIDC Core §3.1.2.1)', async () => {
      const browser = await signedInBrowser();
      t.clock.advance(1_000);
      const login = await browser.get(authorizeUrl(challenge, { ...firstParty, params: { max_age: '0' } }));
      expectLoginPage(login);
      // Signing in satisfies max_age=0 once: no loop back to the sign-in page.
      expectCode(await browser.submit(login, { username: alice.username, password: alice.password }), firstParty.redirectUri);
    });

    it('forces a sign-in with max_age=0 even within the second of the last one (max_age=0 is prompt=login)', async () => {
      const browser = await signedInBrowser();
      expectLoginPage(await browser.get(authorizeUrl(challenge, { ...firstParty, params: { max_age: '0' } })));
    });

    it('answers max_age=0 with prompt=none with login_required', async () => {
      const browser = await signedInBrowser();
      t.clock.advance(1_000);
      const response = await browser.get(authorizeUrl(challenge, { ...firstParty, params: { max_age: '0', prompt: 'none' } }));
      expectErrorRedirect(response, 'login_required', firstParty.redirectUri);
    });

    it('forces a sign-in when the session is older than max_age, and not before', async () => {
      const browser = await signedInBrowser();
      t.clock.advance(60_000);
      expectCode(await browser.get(authorizeUrl(challenge, { ...firstParty, params: { max_age: '60' } })), firstParty.redirectUri);
      t.clock.advance(1_000);
      expectLoginPage(await browser.get(authorizeUrl(challenge, { ...firstParty, params: { max_age: '60' } })));
    });

    it('skips the consent page for a first-party client', async () => {
      const browser = new Browser(t.app);
      const login = await browser.get(authorizeUrl(challenge, firstParty));
      expectLoginPage(login);
      expectCode(await browser.submit(login, { username: alice.username, password: alice.password }), firstParty.redirectUri);
    });

    it('asks a non-first-party client consent after sign-in, then redirects with a code', async () => {
      const browser = new Browser(t.app);
      const login = await browser.get(authorizeUrl(challenge));
      const consent = await browser.submit(login, { username: alice.username, password: alice.password });
      expect(consent.statusCode).toBe(200);
      expect(consent.body).toContain('name="decision"');
      expect(consent.body).toContain('Test SPA');
      expectCode(await browser.submit(consent, { decision: 'allow' }), spaRedirect);
    });
  });

  describe('POST /oidc/authorize works like GET (OIDC Core §3.1.2.1)', () => {
    const fields = (params: Record<string, string | undefined> = {}) =>
      Object.fromEntries(
        Object.entries({
          response_type: 'code',
          client_id: 'spa',
          redirect_uri: spaRedirect,
          scope: 'openid profile',
          state: 'state-123',
          code_challenge: challenge,
          code_challenge_method: 'S256',
          ...params,
        }).filter((entry): entry is [string, string] => entry[1] !== undefined),
      );

    it('shows the sign-in page and completes the flow', async () => {
      const browser = new Browser(t.app);
      const login = await browser.post('/oidc/authorize', fields());
      expectLoginPage(login);
      const consent = await browser.submit(login, { username: alice.username, password: alice.password });
      expectCode(await browser.submit(consent, { decision: 'allow' }), spaRedirect);
    });

    it('shows a page for an unknown client_id', async () => {
      expectErrorPage(await new Browser(t.app).post('/oidc/authorize', fields({ client_id: 'nobody' })), 'invalid_request');
    });

    it('shows a page for an unregistered redirect_uri', async () => {
      const response = await new Browser(t.app).post('/oidc/authorize', fields({ redirect_uri: 'https://evil.example/cb' }));
      expectErrorPage(response, 'invalid_request');
    });

    it('redirects unsupported_response_type', async () => {
      const response = await new Browser(t.app).post('/oidc/authorize', fields({ response_type: 'token' }));
      expectErrorRedirect(response, 'unsupported_response_type');
    });

    it('redirects invalid_request for a repeated parameter', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/oidc/authorize',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `${new URLSearchParams(fields())}&scope=email`,
      });
      expectErrorRedirect(response, 'invalid_request');
    });

    it('answers prompt=none without a session with login_required', async () => {
      expectErrorRedirect(await new Browser(t.app).post('/oidc/authorize', fields({ prompt: 'none' })), 'login_required');
    });
  });
});
