import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { form, makeTestApp, type TestApp } from '../helpers/app.js';
import { Browser, pkcePair } from '../helpers/browser.js';
import { authorizeUrl } from '../helpers/flow.js';

describe('sign-in attempts are limited per client address', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ http: { loginAttemptsPerMinute: 3 } });
  });
  afterAll(() => t.app.close());

  it('answers the attempt over the limit with a 429 page and Retry-After', async () => {
    const browser = new Browser(t.app);
    const page = await browser.get(authorizeUrl(pkcePair().challenge));
    for (let attempt = 0; attempt < 3; attempt++) {
      const wrong = await browser.submit(page, { username: 'alice', password: `guess-${attempt}` });
      expect(wrong.statusCode).toBe(401);
    }
    const limited = await browser.submit(page, { username: 'alice', password: 'guess-4' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(limited.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(limited.body).toContain('too many sign-in attempts');
    expect(limited.headers['retry-after']).toBeDefined();
  });

  it('limits authorization requests per client address, each of which may start a pending sign-in', async () => {
    const limitedApp = await makeTestApp({ http: { authorizeRequestsPerMinute: 2 } });
    try {
      const browser = new Browser(limitedApp.app);
      for (let request = 0; request < 2; request++) expect((await browser.get(authorizeUrl(pkcePair().challenge))).statusCode).toBe(200);
      const limited = await browser.get(authorizeUrl(pkcePair().challenge));
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(limited.body).toContain('too many requests');
    } finally {
      await limitedApp.app.close();
    }
  });

  it('counts GET and POST authorization requests together against one limit', async () => {
    const limitedApp = await makeTestApp({ http: { authorizeRequestsPerMinute: 2 } });
    try {
      const browser = new Browser(limitedApp.app);
      for (let request = 0; request < 2; request++) expect((await browser.get(authorizeUrl(pkcePair().challenge))).statusCode).toBe(200);
      const posted = await limitedApp.app.inject({
        method: 'POST',
        url: '/oidc/authorize',
        headers: form,
        payload: authorizeUrl(pkcePair().challenge).split('?')[1],
      });
      expect(posted.statusCode).toBe(429);
      expect(posted.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(posted.headers['retry-after']).toBe('60');
      expect(posted.headers['set-cookie']).toBeUndefined();
      expect(posted.body).toContain('too many requests');
    } finally {
      await limitedApp.app.close();
    }
  });

  it('answers a malformed consent post with an HTML page, not JSON', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/consent',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'decision=allow&decision=deny',
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.body).toContain('invalid_request');
  });
});
