import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alice, makeTestApp, spaRedirect, type TestApp } from '../helpers/app.js';
import { Browser, hiddenFields, pkcePair, redirectParams } from '../helpers/browser.js';
import { authorizeUrl } from '../helpers/flow.js';

const sessionCookie = 'dpop_oidc_session';
const interactionCookie = 'dpop_oidc_interaction';

/** A form post that cannot be resumed: a 400 page that says to start again, and no session. */
function expectRefusedForm(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(400);
  expect(response.headers.location).toBeUndefined();
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(response.headers['x-frame-options']).toBe('DENY');
  expect(response.body).toContain('<code>invalid_request</code>');
  expect(response.body).toContain('start again from the application');
  expect(String(response.headers['set-cookie'] ?? '')).not.toContain(`${sessionCookie}=`);
}

function setCookie(response: LightMyRequestResponse, name: string): string | undefined {
  const values = response.headers['set-cookie'];
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
  return list.find((value) => value.startsWith(`${name}=`));
}

describe('the sign-in and consent forms', () => {
  let t: TestApp;
  let browser: Browser;
  const { challenge } = pkcePair();
  beforeEach(async () => {
    t = await makeTestApp();
    browser = new Browser(t.app);
  });
  afterEach(() => t.app.close());

  const loginPage = async () => {
    const page = await browser.get(authorizeUrl(challenge));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('name="password"');
    return page;
  };
  const consentPage = async () => {
    const page = await browser.submit(await loginPage(), { username: alice.username, password: alice.password });
    expect(page.body).toContain('name="decision"');
    return page;
  };

  describe('sign-in', () => {
    it('answers a wrong password with 401 and "Wrong username or password.", and no session', async () => {
      const response = await browser.submit(await loginPage(), { username: alice.username, password: 'wrong password' });
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.body).toContain('<p class="error" role="alert">Wrong username or password.</p>');
      expect(response.body).toContain('name="password"');
      expect(setCookie(response, sessionCookie)).toBeUndefined();
      expect(browser.cookies.has(sessionCookie)).toBe(false);
    });

    it('gives an unknown username the same page as a wrong password, so neither is revealed', async () => {
      const page = await loginPage();
      const wrongPassword = await browser.submit(page, { username: alice.username, password: 'wrong password' });
      const unknownUser = await browser.submit(page, { username: 'mallory', password: alice.password });
      expect(unknownUser.statusCode).toBe(401);
      expect(unknownUser.body).toContain('Wrong username or password.');
      // The pages differ only in the username typed, which is filled in again.
      expect(unknownUser.body.replace('value="mallory"', 'value="USER"')).toBe(wrongPassword.body.replace('value="alice"', 'value="USER"'));
      for (const body of [wrongPassword.body, unknownUser.body]) {
        expect(body.toLowerCase()).not.toMatch(/unknown user|no such user|not found|incorrect password|wrong password/);
      }
    });

    it('lets the user try again in the same interaction after a wrong password', async () => {
      const retry = await browser.submit(await loginPage(), { username: alice.username, password: 'wrong password' });
      const consent = await browser.submit(retry, { username: alice.username, password: alice.password });
      expect(consent.statusCode).toBe(200);
      expect(consent.body).toContain('name="decision"');
    });

    it('refuses a wrong CSRF token with a 400 page', async () => {
      expectRefusedForm(
        await browser.submit(await loginPage(), { username: alice.username, password: alice.password, csrf: 'x'.repeat(22) }),
      );
    });

    it('refuses a missing CSRF token with a 400 page', async () => {
      const page = await loginPage();
      const { interaction } = hiddenFields(page.body);
      expectRefusedForm(
        await browser.post('/oidc/login', { interaction: interaction!, username: alice.username, password: alice.password }),
      );
    });

    it('refuses a post without the interaction cookie (another browser) with a 400 page', async () => {
      const page = await loginPage();
      browser.cookies.delete(interactionCookie);
      expectRefusedForm(await browser.submit(page, { username: alice.username, password: alice.password }));
    });

    it('refuses a form whose interaction is not the one in the cookie', async () => {
      const first = await loginPage();
      await loginPage(); // a second request replaces the interaction cookie
      expectRefusedForm(await browser.submit(first, { username: alice.username, password: alice.password }));
    });

    it('refuses an interaction that has expired (600 s) with a 400 page', async () => {
      const page = await loginPage();
      t.clock.advance(601_000);
      expectRefusedForm(await browser.submit(page, { username: alice.username, password: alice.password }));
    });

    it('accepts the form just before the interaction expires', async () => {
      const page = await loginPage();
      t.clock.advance(599_000);
      const consent = await browser.submit(page, { username: alice.username, password: alice.password });
      expect(consent.statusCode).toBe(200);
      expect(consent.body).toContain('name="decision"');
    });

    it('refuses a replay of a form whose interaction has finished', async () => {
      const page = await loginPage();
      const consent = await browser.submit(page, { username: alice.username, password: alice.password });
      expect((await browser.submit(consent, { decision: 'allow' })).statusCode).toBe(303);
      expectRefusedForm(await browser.submit(page, { username: alice.username, password: alice.password }));
    });

    it('sets the session cookie HttpOnly, SameSite=Lax, Secure (https issuer) and Path=/oidc', async () => {
      const response = await browser.submit(await loginPage(), { username: alice.username, password: alice.password });
      expect(setCookie(response, sessionCookie)).toMatch(
        /^dpop_oidc_session=[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/oidc; HttpOnly; Secure; SameSite=Lax$/,
      );
    });

    it('gives every sign-in a new session id (no session fixation)', async () => {
      await browser.submit(await loginPage(), { username: alice.username, password: alice.password });
      const first = browser.cookies.get(sessionCookie);
      const again = await browser.get(authorizeUrl(challenge, { params: { prompt: 'login' } }));
      await browser.submit(again, { username: alice.username, password: alice.password });
      expect(browser.cookies.get(sessionCookie)).not.toBe(first);
    });
  });

  describe('consent', () => {
    it('clears the interaction cookie once the interaction ends with a redirect', async () => {
      const response = await browser.submit(await consentPage(), { decision: 'allow' });
      expect(response.statusCode).toBe(303);
      expect(setCookie(response, interactionCookie)).toMatch(/^dpop_oidc_interaction=; .*Path=\/oidc/);
      expect(browser.cookies.has(interactionCookie)).toBe(false);
    });

    it('refuses a wrong CSRF token with a 400 page, and the right one still works', async () => {
      const page = await consentPage();
      expectRefusedForm(await browser.submit(page, { decision: 'allow', csrf: 'x'.repeat(22) }));
      const allowed = await browser.submit(page, { decision: 'allow' });
      expect(allowed.statusCode).toBe(303);
      expect(String(allowed.headers.location).startsWith(`${spaRedirect}?`)).toBe(true);
    });

    it('refuses a wrong CSRF token on a deny too: a forged post cannot end the interaction', async () => {
      const page = await consentPage();
      expectRefusedForm(await browser.submit(page, { decision: 'deny', csrf: 'x'.repeat(22) }));
      expect(redirectParams(await browser.submit(page, { decision: 'allow' })).get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('refuses a post without the interaction cookie with a 400 page', async () => {
      const page = await consentPage();
      browser.cookies.delete(interactionCookie);
      expectRefusedForm(await browser.submit(page, { decision: 'allow' }));
    });

    it('refuses a post from a browser that is no longer signed in', async () => {
      const page = await consentPage();
      browser.cookies.delete(sessionCookie);
      expectRefusedForm(await browser.submit(page, { decision: 'allow' }));
    });

    it('refuses an interaction that has expired (600 s) with a 400 page', async () => {
      const page = await consentPage();
      t.clock.advance(601_000);
      expectRefusedForm(await browser.submit(page, { decision: 'allow' }));
    });
  });
});

describe('cookies of an http issuer (local development)', () => {
  it('are not Secure, still HttpOnly, SameSite=Lax and scoped to the issuer path', async () => {
    const t = await makeTestApp({ issuer: 'http://localhost:8080/oidc' });
    try {
      const browser = new Browser(t.app);
      const page = await browser.get(authorizeUrl(pkcePair().challenge));
      const response = await browser.submit(page, { username: alice.username, password: alice.password });
      expect(setCookie(response, sessionCookie)).toMatch(
        /^dpop_oidc_session=[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/oidc; HttpOnly; SameSite=Lax$/,
      );
    } finally {
      await t.app.close();
    }
  });
});
