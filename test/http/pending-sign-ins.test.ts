import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../src/stores/redis/client.js';
import { alice, makeTestApp, spaRedirect, testClock, type TestApp } from '../helpers/app.js';
import { Browser, hiddenFields, pkcePair, redirectParams } from '../helpers/browser.js';
import { authorizeUrl } from '../helpers/flow.js';

const interactionCookie = 'dpop_oidc_interaction';
const sessionCookie = 'dpop_oidc_session';
const firstParty = { clientId: 'first-party-spa', redirectUri: 'http://localhost:5173/callback', scope: 'openid profile' };

/** The error code and reason of the last OAuth error the app logged. */
function lastRefusal(t: TestApp): { error: string; reason: string } {
  const lines = t
    .logs()
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { oauthError?: { error: string; reason: string } });
  return lines.reverse().find((line) => line.oauthError !== undefined)!.oauthError!;
}

/** The one refusal of a form that cannot go on: a 400 page saying to start again. */
function expectRefusedForm(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(400);
  expect(response.headers.location).toBeUndefined();
  expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(response.body).toContain('<code>invalid_request</code>');
  expect(response.body).toContain('start again from the application');
}

/**
 * The consent form's fields and the cookies it needs, as a replaying attacker would keep them.
 * prompt=consent: the page is shown although the user consented in an earlier round.
 */
async function consentForm(browser: Browser, scope = 'openid profile email offline_access'): Promise<{ payload: string; cookie: string }> {
  const login = await browser.get(authorizeUrl(pkcePair().challenge, { scope, params: { prompt: 'consent' } }));
  const consent = await browser.submit(login, { username: alice.username, password: alice.password });
  expect(consent.body).toContain('name="decision"');
  const cookie = [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  return { payload: new URLSearchParams({ ...hiddenFields(consent.body), decision: 'allow' }).toString(), cookie };
}

const postConsent = (t: TestApp, form: { payload: string; cookie: string }) =>
  t.app.inject({
    method: 'POST',
    url: '/oidc/consent',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie },
    payload: form.payload,
  });

describe('a pending sign-in is held by the browser, not the server', () => {
  let t: TestApp;
  beforeEach(async () => {
    // The smallest in-memory bound: it once held the pending sign-ins too.
    t = await makeTestApp({ store: { memoryMaxEntries: 100 } });
  });
  afterEach(() => t.app.close());

  it('starts more pending sign-ins than any store bound, from many addresses, and a user still signs in', async () => {
    const { challenge } = pkcePair();
    for (let caller = 0; caller < 150; caller++) {
      const page = await t.app.inject({
        method: 'GET',
        url: authorizeUrl(challenge),
        remoteAddress: `198.51.${caller >> 8}.${caller & 255}`,
      });
      expect(page.statusCode).toBe(200);
    }
    const browser = new Browser(t.app);
    const login = await browser.get(authorizeUrl(challenge));
    expect(login.statusCode).toBe(200);
    const consent = await browser.submit(login, { username: alice.username, password: alice.password });
    expect(consent.statusCode).toBe(200);
    expect(redirectParams(await browser.submit(consent, { decision: 'allow' })).get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('continues a sign-in started at another instance that shares only the nonce secret (no store)', async () => {
    const other = await makeTestApp({}, { clock: t.clock });
    try {
      const atA = new Browser(t.app);
      const login = await atA.get(
        authorizeUrl(pkcePair().challenge, { clientId: firstParty.clientId, redirectUri: firstParty.redirectUri, scope: firstParty.scope }),
      );
      const atB = new Browser(other.app);
      for (const [name, value] of atA.cookies) atB.cookies.set(name, value);
      const redirect = await atB.submit(login, { username: alice.username, password: alice.password });
      expect(redirect.statusCode).toBe(303);
      expect(String(redirect.headers.location).startsWith(`${firstParty.redirectUri}?`)).toBe(true);
      expect(redirectParams(redirect).get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    } finally {
      await other.app.close();
    }
  });

  it('keeps the request unreadable in the cookie, and refuses a cookie changed by one character', async () => {
    const browser = new Browser(t.app);
    const login = await browser.get(authorizeUrl(pkcePair().challenge, { state: 'state-visible-if-not-sealed' }));
    const sealed = browser.cookies.get(interactionCookie)!;
    expect(Buffer.from(sealed, 'base64url').toString('latin1')).not.toContain('state-visible-if-not-sealed');
    expect(sealed).not.toContain(hiddenFields(login.body).interaction);
    const changed = `${sealed.slice(0, 20)}${sealed[20] === 'A' ? 'B' : 'A'}${sealed.slice(21)}`;
    browser.cookies.set(interactionCookie, changed);
    expectRefusedForm(await browser.submit(login, { username: alice.username, password: alice.password }));
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'interaction' });
    expect(browser.cookies.has(sessionCookie)).toBe(false);
  });

  it('refuses a request too large to keep in a cookie (under 4 KB) with invalid_request, reason interaction_size', async () => {
    // Within every parameter bound, but three bytes a character once encoded.
    const page = await t.app.inject({
      method: 'GET',
      url: authorizeUrl(pkcePair().challenge, { state: '€'.repeat(1024), nonce: '€'.repeat(512), params: { login_hint: '€'.repeat(255) } }),
    });
    expect(page.statusCode).toBe(303);
    const params = redirectParams(page);
    expect(String(page.headers.location).startsWith(`${spaRedirect}?`)).toBe(true);
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('error_description')).toBe('the request is too large to keep during sign-in');
    expect(page.headers['set-cookie']).toBeUndefined();
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'interaction_size' });
  });

  it('expires 600 s after the authorization request: signing in does not extend it', async () => {
    const browser = new Browser(t.app);
    const login = await browser.get(authorizeUrl(pkcePair().challenge));
    t.clock.advance(590_000);
    const consent = await browser.submit(login, { username: alice.username, password: alice.password });
    expect(consent.statusCode).toBe(200);
    expect(String(consent.headers['set-cookie'])).toMatch(/dpop_oidc_interaction=[^;]+; Max-Age=10;/);
    t.clock.advance(11_000);
    expectRefusedForm(await browser.submit(consent, { decision: 'allow' }));
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'interaction' });
  });
});

describe('one sign-in mints one code', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeTestApp();
  });
  afterEach(() => t.app.close());

  it('refuses a replay of the consent POST with its cookie and form kept: 400, reason interaction_ended', async () => {
    const form = await consentForm(new Browser(t.app));
    const first = await postConsent(t, form);
    expect(redirectParams(first).get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const replay = await postConsent(t, form);
    expectRefusedForm(replay);
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'interaction_ended' });
  });

  it('refuses an allow after the user denied in the same sign-in', async () => {
    const form = await consentForm(new Browser(t.app));
    const denied = await postConsent(t, { ...form, payload: form.payload.replace('decision=allow', 'decision=deny') });
    expect(redirectParams(denied).get('error')).toBe('access_denied');
    expect(lastRefusal(t)).toEqual({ error: 'access_denied', reason: 'consent_denied' });
    expectRefusedForm(await postConsent(t, form));
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'interaction_ended' });
  });

  it('answers two concurrent consent POSTs with one code and one refusal', async () => {
    for (let round = 0; round < 5; round++) {
      const form = await consentForm(new Browser(t.app));
      const answers = await Promise.all([postConsent(t, form), postConsent(t, form)]);
      expect(answers.map((answer) => answer.statusCode).sort()).toEqual([303, 400]);
      expect(redirectParams(answers.find((answer) => answer.statusCode === 303)!).get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });

  it("refuses a consent from a browser whose session is another user's or gone: 400, reason session", async () => {
    const browser = new Browser(t.app);
    const form = await consentForm(browser);
    const withoutSession = form.cookie
      .split('; ')
      .filter((cookie) => !cookie.startsWith(`${sessionCookie}=`))
      .join('; ');
    expectRefusedForm(await postConsent(t, { ...form, cookie: withoutSession }));
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'session' });
  });

  it('refuses a login POST with a wrong CSRF token: 400, reason interaction', async () => {
    const browser = new Browser(t.app);
    const login = await browser.get(authorizeUrl(pkcePair().challenge));
    expectRefusedForm(await browser.submit(login, { username: alice.username, password: alice.password, csrf: 'x'.repeat(22) }));
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'interaction' });
  });

  it('answers prompt=none without a session with login_required, reason prompt_none', async () => {
    const response = await t.app.inject({ method: 'GET', url: authorizeUrl(pkcePair().challenge, { params: { prompt: 'none' } }) });
    expect(redirectParams(response).get('error')).toBe('login_required');
    expect(lastRefusal(t)).toEqual({ error: 'login_required', reason: 'prompt_none' });
  });
});

describe('sessions', () => {
  it('ends the session a new sign-in replaces: its old cookie no longer signs anyone in', async () => {
    const t = await makeTestApp();
    try {
      const browser = new Browser(t.app);
      const options = { clientId: firstParty.clientId, redirectUri: firstParty.redirectUri, scope: firstParty.scope };
      const first = await browser.get(authorizeUrl(pkcePair().challenge, options));
      expect((await browser.submit(first, { username: alice.username, password: alice.password })).statusCode).toBe(303);
      const oldCookie = browser.cookies.get(sessionCookie)!;
      const again = await browser.get(authorizeUrl(pkcePair().challenge, { ...options, params: { prompt: 'login' } }));
      expect((await browser.submit(again, { username: alice.username, password: alice.password })).statusCode).toBe(303);
      expect(browser.cookies.get(sessionCookie)).not.toBe(oldCookie);
      const replaced = new Browser(t.app);
      replaced.cookies.set(sessionCookie, oldCookie);
      const silent = await replaced.get(authorizeUrl(pkcePair().challenge, { ...options, params: { prompt: 'none' } }));
      expect(redirectParams(silent).get('error')).toBe('login_required');
    } finally {
      await t.app.close();
    }
  });
});

describe('two instances sharing Redis: one sign-in mints one code', () => {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const keyPrefix = `dpop-oidc-test:${randomBytes(6).toString('hex')}:`;
  const clock = testClock();
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    const store = { type: 'redis' as const, redisUrl, keyPrefix };
    a = await makeTestApp({ store }, { clock });
    b = await makeTestApp({ store }, { clock });
  });
  afterAll(async () => {
    await a.app.close();
    await b.app.close();
    const redis = createRedisClient(redisUrl);
    await redis.connect();
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('keeps both consents given at once from two browsers of one user (no lost update)', async () => {
    const browsers = [new Browser(a.app), new Browser(b.app)];
    // Runs first: no consent of alice's to spa is recorded under this prefix yet.
    const forms = [await consentForm(browsers[0]!, 'openid profile'), await consentForm(browsers[1]!, 'openid api:read')];
    const answers = await Promise.all([postConsent(a, forms[0]!), postConsent(b, forms[1]!)]);
    expect(answers.map((answer) => answer.statusCode)).toEqual([303, 303]);
    const silent = await browsers[0]!.get(
      authorizeUrl(pkcePair().challenge, { scope: 'openid profile api:read', params: { prompt: 'none' } }),
    );
    expect(redirectParams(silent).get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('answers the same consent POST sent to both instances at once with one code and one refusal', async () => {
    for (let round = 0; round < 5; round++) {
      const form = await consentForm(new Browser(a.app));
      const answers = await Promise.all([postConsent(a, form), postConsent(b, form)]);
      expect(answers.map((answer) => answer.statusCode).sort()).toEqual([303, 400]);
      const refusedAt = answers[0]!.statusCode === 400 ? a : b;
      expect(lastRefusal(refusedAt)).toEqual({ error: 'invalid_request', reason: 'interaction_ended' });
    }
  });
});
