import type { LightMyRequestResponse } from 'fastify';
import { SignJWT, generateKeyPair } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/users/secret-hash.js';
import { alice, issuer, makeTestApp, spaOrigin, spaRedirect, testUsers, type TestApp } from '../helpers/app.js';
import { Browser, pkcePair, redirectParams } from '../helpers/browser.js';
import { authorizeUrl, codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';

const signedOut = `${spaOrigin}/signed-out`;
const sessionCookie = 'dpop_oidc_session';
const bob = { username: 'bob', password: 'bob password 0123456789', sub: 'user-bob' };
const bobHash = hashPassword(bob.password);

function expectErrorPage(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(400);
  expect(response.headers.location).toBeUndefined();
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(response.body).toContain('<code>invalid_request</code>');
  expect(response.headers['set-cookie']).toBeUndefined();
}

function expectConfirmationPage(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(200);
  expect(response.body).toContain('Sign out?');
  expect(response.body).toContain('<form method="post" action="/oidc/logout">');
  expect(response.headers['x-frame-options']).toBe('DENY');
  expect(response.headers['set-cookie']).toBeUndefined();
}

function expectSessionCleared(response: LightMyRequestResponse): void {
  const values = response.headers['set-cookie'];
  const cleared = (Array.isArray(values) ? values : [String(values)]).find((value) => value.startsWith(`${sessionCookie}=`));
  expect(cleared).toMatch(
    /^dpop_oidc_session=; Max-Age=0; Path=\/oidc; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax$/,
  );
}

describe('GET and POST /oidc/logout (OpenID Connect RP-Initiated Logout 1.0)', () => {
  let t: TestApp;
  let browser: Browser;
  let idToken: string;
  const { challenge } = pkcePair();

  /** prompt=none tells whether the browser is still signed in (spa has alice's consent). */
  async function signedIn(who: Browser = browser): Promise<boolean> {
    const response = await who.get(authorizeUrl(challenge, { scope: 'openid', params: { prompt: 'none' } }));
    expect(response.statusCode).toBe(303);
    const params = redirectParams(response);
    if (params.get('error') === 'login_required') return false;
    expect(params.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    return true;
  }

  const logoutUrl = (params: Record<string, string>) => `/oidc/logout?${new URLSearchParams(params)}`;

  beforeEach(async () => {
    t = await makeTestApp({ users: [...(await testUsers()), { sub: bob.sub, username: bob.username, password_hash: await bobHash }] });
    browser = new Browser(t.app);
    const { code, verifier } = await signInAndConsent(browser);
    const tokens = await tokenRequest(t, codeExchange(code, verifier));
    expect(tokens.statusCode).toBe(200);
    idToken = tokens.json().id_token;
    expect(await signedIn()).toBe(true);
  });
  afterEach(() => t.app.close());

  describe('with a valid id_token_hint for the signed-in user', () => {
    it('signs out and redirects to the registered post_logout_redirect_uri with state (GET)', async () => {
      const oldCookie = browser.cookies.get(sessionCookie)!;
      const response = await browser.get(logoutUrl({ id_token_hint: idToken, post_logout_redirect_uri: signedOut, state: 'bye-1' }));
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe(`${signedOut}?state=bye-1`);
      expect(response.headers['cache-control']).toBe('no-store');
      expectSessionCleared(response);
      expect(browser.cookies.has(sessionCookie)).toBe(false);
      expect(await signedIn()).toBe(false);
      // The session is ended at the provider, not just forgotten by the browser.
      browser.cookies.set(sessionCookie, oldCookie);
      expect(await signedIn()).toBe(false);
    });

    it('does the same with POST', async () => {
      const response = await browser.post('/oidc/logout', { id_token_hint: idToken, post_logout_redirect_uri: signedOut, state: 'bye-2' });
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe(`${signedOut}?state=bye-2`);
      expectSessionCleared(response);
      expect(await signedIn()).toBe(false);
    });

    it('signs out and shows the signed-out page without post_logout_redirect_uri', async () => {
      const response = await browser.get(logoutUrl({ id_token_hint: idToken }));
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('You are signed out.');
      expectSessionCleared(response);
      expect(await signedIn()).toBe(false);
    });

    it('accepts an id_token_hint that has expired (RP-Initiated Logout §2)', async () => {
      t.clock.advance(3_600_000);
      const response = await browser.get(logoutUrl({ id_token_hint: idToken, post_logout_redirect_uri: signedOut }));
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe(signedOut);
      expect(await signedIn()).toBe(false);
    });
  });

  describe('without a hint for the signed-in user, the user confirms', () => {
    it('shows a confirmation page, and its form (POST with csrf) signs out', async () => {
      const page = await browser.get('/oidc/logout');
      expectConfirmationPage(page);
      expect(await signedIn()).toBe(true);
      const response = await browser.submit(page, {});
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('You are signed out.');
      expectSessionCleared(response);
      expect(await signedIn()).toBe(false);
    });

    it('carries post_logout_redirect_uri and state through the confirmation to the redirect', async () => {
      const page = await browser.get(logoutUrl({ client_id: 'spa', post_logout_redirect_uri: signedOut, state: 'bye-3' }));
      expectConfirmationPage(page);
      expect(page.headers['content-security-policy']).toContain(`form-action 'self' ${spaOrigin}`);
      const response = await browser.submit(page, {});
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe(`${signedOut}?state=bye-3`);
      expect(await signedIn()).toBe(false);
    });

    it('does not sign out on a POST with a wrong csrf token', async () => {
      const page = await browser.get('/oidc/logout');
      expectConfirmationPage(await browser.submit(page, { csrf: 'x'.repeat(43) }));
      expectConfirmationPage(await browser.post('/oidc/logout', {}));
      expect(await signedIn()).toBe(true);
    });

    it('does not clear the session cookie on a POST without it, as a cross-site form post sends (logout CSRF)', async () => {
      // SameSite=Lax keeps the cookie off a cross-site POST, but the browser still applies the
      // Set-Cookie of that top-level response: clearing it would sign out without confirmation.
      const response = await t.app.inject({
        method: 'POST',
        url: '/oidc/logout',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: '',
      });
      expect(response.statusCode).toBe(200);
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(await signedIn()).toBe(true);
    });

    it('does not sign out on a GET carrying the csrf token', async () => {
      const page = await browser.get('/oidc/logout');
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
      expectConfirmationPage(await browser.get(logoutUrl({ csrf })));
      expect(await signedIn()).toBe(true);
    });

    it('asks when the id_token_hint names another user than the signed-in one', async () => {
      const bobBrowser = new Browser(t.app);
      const login = await bobBrowser.get(
        authorizeUrl(challenge, { clientId: 'first-party-spa', redirectUri: 'http://localhost:5173/callback', scope: 'openid' }),
      );
      expect((await bobBrowser.submit(login, { username: bob.username, password: bob.password })).statusCode).toBe(303);
      expectConfirmationPage(await bobBrowser.get(logoutUrl({ id_token_hint: idToken, post_logout_redirect_uri: signedOut })));
      const still = await bobBrowser.get(
        authorizeUrl(challenge, {
          clientId: 'first-party-spa',
          redirectUri: 'http://localhost:5173/callback',
          scope: 'openid',
          params: { prompt: 'none' },
        }),
      );
      expect(redirectParams(still).get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('redirects at once when no one is signed in', async () => {
      const response = await new Browser(t.app).get(logoutUrl({ client_id: 'spa', post_logout_redirect_uri: signedOut, state: 's' }));
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe(`${signedOut}?state=s`);
    });
  });

  describe('refusals: a 400 page, never a redirect, and the session stays', () => {
    it.each([
      ['an unregistered URI', 'https://evil.example/signed-out'],
      ['a registered redirect_uri that is not a post-logout one', spaRedirect],
      ['a registered URI with a changed path', `${signedOut}/x`],
    ])('refuses %s as post_logout_redirect_uri (RFC 9700 §4.11: no open redirector)', async (_name, uri) => {
      expectErrorPage(await browser.get(logoutUrl({ id_token_hint: idToken, post_logout_redirect_uri: uri })));
      expectErrorPage(await browser.get(logoutUrl({ client_id: 'spa', post_logout_redirect_uri: uri })));
      expect(await signedIn()).toBe(true);
    });

    it('refuses a post_logout_redirect_uri without a client to check it against', async () => {
      expectErrorPage(await browser.get(logoutUrl({ post_logout_redirect_uri: signedOut })));
      expect(await signedIn()).toBe(true);
    });

    it('refuses an id_token_hint that is not a JWT', async () => {
      expectErrorPage(await browser.get(logoutUrl({ id_token_hint: 'not-a-token', post_logout_redirect_uri: signedOut })));
      expect(await signedIn()).toBe(true);
    });

    it('refuses an id_token_hint whose signature was altered', async () => {
      const [header, payload, signature] = idToken.split('.');
      const altered = `${header}.${payload}.${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
      expectErrorPage(await browser.get(logoutUrl({ id_token_hint: altered, post_logout_redirect_uri: signedOut })));
      expect(await signedIn()).toBe(true);
    });

    it('refuses an id_token_hint signed by another key under our kid', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const kid = JSON.parse(Buffer.from(idToken.split('.')[0]!, 'base64url').toString()).kid as string;
      const forged = await new SignJWT({ iss: issuer, sub: alice.sub, aud: 'spa' })
        .setProtectedHeader({ alg: 'ES256', kid })
        .sign(privateKey);
      expectErrorPage(await browser.post('/oidc/logout', { id_token_hint: forged, post_logout_redirect_uri: signedOut }));
      expect(await signedIn()).toBe(true);
    });

    it('refuses a client_id that does not match the id_token_hint audience', async () => {
      expectErrorPage(await browser.get(logoutUrl({ id_token_hint: idToken, client_id: 'first-party-spa' })));
      expect(await signedIn()).toBe(true);
    });

    it('refuses a repeated parameter', async () => {
      const response = await browser.get(`${logoutUrl({ id_token_hint: idToken, post_logout_redirect_uri: signedOut })}&state=a&state=b`);
      expectErrorPage(response);
      expect(await signedIn()).toBe(true);
    });
  });
});
