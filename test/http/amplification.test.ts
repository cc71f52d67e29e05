import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basicAuth, form, issuer, makeTestApp, serviceClient, spaRedirect, type TestApp } from '../helpers/app.js';
import { pkcePair } from '../helpers/browser.js';
import { makeProof, makeProofKey } from '../helpers/dpop.js';
import { authorizeUrl } from '../helpers/flow.js';

/**
 * A client chooses what it sends, never how much the server writes: whatever is echoed from a
 * request into a log line or an error description is bounded, and the authorization endpoint
 * refuses oversized parameters before it does any work.
 */

const maxLogLine = 2048;
/** Our own words, plus at most 48 characters of the client's and the mark of the cut. */
const maxDescription = 110;

function longestLogLine(t: TestApp): number {
  return Math.max(
    ...t
      .logs()
      .split('\n')
      .map((line) => Buffer.byteLength(line)),
  );
}

function lastRefusal(t: TestApp): { error: string; reason: string } & Record<string, unknown> {
  const lines = t
    .logs()
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { oauthError?: { error: string; reason: string } });
  return lines.reverse().find((line) => line.oauthError !== undefined)!.oauthError!;
}

describe('no amplification of client input into logs or responses', () => {
  let t: TestApp;
  beforeEach(async () => {
    // Room for a body holding a 60 KB parameter name twice.
    t = await makeTestApp({ http: { bodyLimit: 256 * 1024 } });
  });
  afterEach(() => t.app.close());

  it('answers a 60 KB unsupported grant_type with a short description and a short log line', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/oidc/token', headers: form, payload: `grant_type=${'g'.repeat(60_000)}` });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('unsupported_grant_type');
    expect(response.json().error_description).toBe(`grant_type ${'g'.repeat(48)}...(+59952) is not supported`);
    expect(response.json().error_description.length).toBeLessThanOrEqual(maxDescription);
    expect(lastRefusal(t)).toEqual({ error: 'unsupported_grant_type', reason: 'grant_type' });
    expect(longestLogLine(t)).toBeLessThan(maxLogLine);
  });

  it('answers a repeated 60 KB parameter name with a short description and a short log line', async () => {
    const name = 'n'.repeat(60_000);
    const response = await t.app.inject({ method: 'POST', url: '/oidc/token', headers: form, payload: `${name}=1&${name}=2` });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_request');
    expect(response.json().error_description.length).toBeLessThanOrEqual(maxDescription);
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'schema' });
    expect(longestLogLine(t)).toBeLessThan(maxLogLine);
  });

  it('answers a 60 KB refused scope at the token endpoint with a short description', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret) },
      payload: `grant_type=client_credentials&scope=${'s'.repeat(60_000)}`,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_scope');
    expect(response.json().error_description.length).toBeLessThanOrEqual(maxDescription);
    expect(longestLogLine(t)).toBeLessThan(maxLogLine);
  });

  it('logs a bounded, escaped htu of a proof that names another URL', async () => {
    const key = await makeProofKey();
    const htu = `${issuer}/other\u2028${'u'.repeat(3000)}`;
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: {
        ...form,
        authorization: basicAuth(serviceClient.id, serviceClient.secret),
        dpop: await makeProof(key, { htu, iat: t.clock() / 1000 }),
      },
      payload: 'grant_type=client_credentials',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_dpop_proof');
    const logged = lastRefusal(t);
    expect(logged.reason).toBe('htu');
    expect(logged.received).toBe(`${issuer}/other\\u{2028}${'u'.repeat(128 - issuer.length - 7)}...(+${htu.length - 128})`);
    expect(longestLogLine(t)).toBeLessThan(maxLogLine);
  });

  it('logs a bounded request path and never its query', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/oidc/${'p'.repeat(10_000)}?client_secret=${'q'.repeat(100)}` });
    expect(response.statusCode).toBe(404);
    expect(response.json().error_description.length).toBeLessThanOrEqual(maxDescription);
    expect(t.logs()).toContain(`"path":"/oidc/${'p'.repeat(122)}...(+9878)"`);
    expect(t.logs()).not.toContain('qqqq');
    expect(longestLogLine(t)).toBeLessThan(maxLogLine);
  });

  it('logs a bounded client address when X-Forwarded-For is believed', async () => {
    const proxied = await makeTestApp({ http: { trustProxy: true } });
    try {
      const response = await proxied.app.inject({ method: 'GET', url: '/oidc/jwks', headers: { 'x-forwarded-for': 'f'.repeat(5000) } });
      expect(response.statusCode).toBe(200);
      expect(proxied.logs()).toContain(`"remoteAddress":"${'f'.repeat(64)}...(+`);
      expect(longestLogLine(proxied)).toBeLessThan(maxLogLine);
    } finally {
      await proxied.app.close();
    }
  });
});

describe('the authorization endpoint refuses oversized parameters before any work', () => {
  const { challenge } = pkcePair();
  let t: TestApp;
  let interactionsStarted: number;
  beforeEach(async () => {
    interactionsStarted = 0;
    t = await makeTestApp();
  });
  afterEach(() => t.app.close());

  /**
   * POST, as a form: a body holds far more than a URL. A pending sign-in lives in its sealed
   * cookie, so an answer that sets that cookie is one that started a sign-in.
   */
  const post = async (params: Record<string, string>) => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/authorize',
      headers: form,
      payload: new URLSearchParams(Object.fromEntries(new URL(authorizeUrl(challenge, { params }), issuer).searchParams)).toString(),
    });
    if (response.cookies.some((cookie) => cookie.name === 'dpop_oidc_interaction' && cookie.value !== '')) interactionsStarted += 1;
    return response;
  };

  function expectSmallErrorRedirect(response: Awaited<ReturnType<typeof post>>, description: string): void {
    expect(response.statusCode).toBe(303);
    const location = String(response.headers.location);
    expect(location.length).toBeLessThan(512);
    const params = new URL(location).searchParams;
    expect(location.startsWith(`${spaRedirect}?`)).toBe(true);
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('error_description')).toBe(description);
    expect(params.get('state')).toBe('state-123');
    expect(interactionsStarted).toBe(0);
  }

  function expectSmallErrorPage(response: Awaited<ReturnType<typeof post>>): void {
    expect(response.statusCode).toBe(400);
    expect(response.headers.location).toBeUndefined();
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.body).toContain('<code>invalid_request</code>');
    expect(response.body.length).toBeLessThan(2048);
    expect(interactionsStarted).toBe(0);
  }

  it('answers the request itself with a sign-in page (the baseline)', async () => {
    const response = await post({});
    expect(response.statusCode).toBe(200);
    expect(interactionsStarted).toBe(1);
  });

  it('redirects a 60 KB scope with invalid_request and a small Location, starting no sign-in', async () => {
    const response = await post({ scope: `openid ${'s'.repeat(60_000)}` });
    expectSmallErrorRedirect(response, 'scope is too long');
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'scope' });
    expect(longestLogLine(t)).toBeLessThan(maxLogLine);
  });

  it('accepts a scope of 1024 characters and refuses one of 1025', async () => {
    const scope = (length: number) => `openid ${'x'.repeat(length - 7)}`;
    const refused = await post({ scope: scope(1025) });
    expectSmallErrorRedirect(refused, 'scope is too long');
    const allowedLength = await post({ scope: scope(1024) });
    expect(new URL(String(allowedLength.headers.location)).searchParams.get('error')).toBe('invalid_scope');
  });

  it('redirects a nonce over 512 characters with invalid_request', async () => {
    expectSmallErrorRedirect(await post({ nonce: 'n'.repeat(513) }), 'nonce is too long');
  });

  it('redirects a request whose parameters total more than 8 KiB, each within its own bound', async () => {
    const extra = Object.fromEntries(Array.from({ length: 9 }, (_, index) => [`ui_extra_${index}`, 'e'.repeat(1000)]));
    const response = await post(extra);
    expectSmallErrorRedirect(response, 'the request is too large');
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'request_size' });
  });

  it('bounds the name of a repeated parameter in the redirect', async () => {
    const name = 'r'.repeat(3000);
    const response = await t.app.inject({ method: 'GET', url: `${authorizeUrl(challenge)}&${name}=1&${name}=2` });
    expect(response.statusCode).toBe(303);
    const location = String(response.headers.location);
    expect(location.length).toBeLessThan(512);
    expect(new URL(location).searchParams.get('error_description')).toBe(`parameter ${'r'.repeat(48)}...(+2952) is repeated or malformed`);
  });

  it('shows a page, not a redirect, for a state too long to echo', async () => {
    const response = await post({ state: 's'.repeat(1025), scope: 's'.repeat(60_000) });
    expectSmallErrorPage(response);
    expect(response.body).not.toContain('sss');
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'state' });
  });

  it('shows a small page for a 60 KB scope from an unknown client', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/authorize',
      headers: form,
      payload: `client_id=nobody&response_type=code&redirect_uri=${encodeURIComponent(spaRedirect)}&scope=${'s'.repeat(60_000)}`,
    });
    expectSmallErrorPage(response);
  });
});
