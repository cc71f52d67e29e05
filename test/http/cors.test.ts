import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alice, form, makeTestApp, spaOrigin, type TestApp } from '../helpers/app.js';
import { Browser, hiddenFields, pkcePair } from '../helpers/browser.js';
import { authorizeUrl } from '../helpers/flow.js';

const evilOrigin = 'https://evil.example';
const discovery = '/oidc/.well-known/openid-configuration';
const asMetadata = '/.well-known/oauth-authorization-server/oidc';

/** The endpoints an SPA calls from its own origin (RFC 9700 §2.6: CORS MAY be offered there). */
const corsEndpoints: Array<[path: string, method: 'GET' | 'POST']> = [
  ['/oidc/token', 'POST'],
  ['/oidc/profile', 'GET'],
  ['/oidc/profile', 'POST'],
  ['/oidc/revoke', 'POST'],
  ['/oidc/jwks', 'GET'],
  [discovery, 'GET'],
  [asMetadata, 'GET'],
];

function expectNoCors(response: LightMyRequestResponse): void {
  for (const name of Object.keys(response.headers)) expect(name).not.toMatch(/^access-control-/);
}

function exposedHeaders(response: LightMyRequestResponse): string[] {
  return String(response.headers['access-control-expose-headers'] ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase());
}

describe('CORS for browser clients (RFC 9449 §7.1, §8; RFC 9700 §2.6)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.app.close());

  const preflight = (url: string, origin: string, method = 'POST', requestHeaders = 'dpop, content-type') =>
    t.app.inject({
      method: 'OPTIONS',
      url,
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': requestHeaders },
    });

  describe('preflight', () => {
    it('answers OPTIONS /oidc/token from a registered origin with 204, the origin and DPoP among the allowed headers', async () => {
      const response = await preflight('/oidc/token', spaOrigin, 'POST', 'dpop');
      expect(response.statusCode).toBe(204);
      expect(response.headers['access-control-allow-origin']).toBe(spaOrigin);
      const allowed = String(response.headers['access-control-allow-headers'])
        .split(',')
        .map((name) => name.trim().toLowerCase());
      expect(allowed).toEqual(expect.arrayContaining(['dpop', 'authorization', 'content-type']));
      expect(String(response.headers['access-control-allow-methods'])).toContain('POST');
      expect(response.headers['access-control-max-age']).toBe('600');
      expect(response.headers['access-control-allow-credentials']).toBeUndefined();
      expect(String(response.headers.vary)).toContain('Origin');
    });

    it.each(corsEndpoints)('answers the preflight of %s (%s) for a registered origin', async (path, method) => {
      const response = await preflight(path, spaOrigin, method, 'dpop, authorization');
      expect(response.statusCode).toBe(204);
      expect(response.headers['access-control-allow-origin']).toBe(spaOrigin);
      expect(String(response.headers['access-control-allow-headers'])).toContain('DPoP');
    });

    it('answers the origin of a loopback redirect URI (the first-party SPA in development)', async () => {
      const response = await preflight('/oidc/token', 'http://localhost:5173');
      expect(response.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    });

    it.each([
      ['an unregistered origin', evilOrigin],
      ['a registered host on another port', 'https://spa.example.test:8443'],
      ['a registered host over http', 'http://spa.example.test'],
      ['the opaque origin null', 'null'],
    ])('gives %s no access-control-allow-origin', async (_name, origin) => {
      const response = await preflight('/oidc/token', origin);
      expect(response.statusCode).not.toBe(204);
      expectNoCors(response);
    });

    it.each(['/oidc/authorize', '/oidc/login', '/oidc/consent', '/oidc/logout', '/oidc/introspect'])(
      'offers no CORS on %s (RFC 9700 §2.6: never on the authorization endpoint)',
      async (path) => {
        const response = await preflight(path, spaOrigin);
        expect(response.statusCode).not.toBe(204);
        expectNoCors(response);
      },
    );
  });

  describe('actual requests', () => {
    it('exposes DPoP-Nonce and WWW-Authenticate on a token endpoint answer to a registered origin', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { ...form, origin: spaOrigin },
        payload: 'grant_type=refresh_token&client_id=spa&refresh_token=unknown',
      });
      expect(response.statusCode).toBe(400);
      expect(response.headers['access-control-allow-origin']).toBe(spaOrigin);
      expect(exposedHeaders(response)).toEqual(expect.arrayContaining(['dpop-nonce', 'www-authenticate']));
    });

    it('exposes WWW-Authenticate on a profile challenge, which the SPA must read (RFC 9449 §7.1)', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/oidc/profile', headers: { origin: spaOrigin } });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBeDefined();
      expect(response.headers['access-control-allow-origin']).toBe(spaOrigin);
      expect(exposedHeaders(response)).toEqual(expect.arrayContaining(['dpop-nonce', 'www-authenticate']));
    });

    it('answers a revocation from a registered origin', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/oidc/revoke',
        headers: { ...form, origin: spaOrigin },
        payload: 'client_id=spa&token=unknown',
      });
      expect(response.statusCode).toBe(200);
      expect(response.headers['access-control-allow-origin']).toBe(spaOrigin);
    });

    it.each(['/oidc/jwks', discovery, asMetadata])('answers GET %s from a registered origin', async (url) => {
      const response = await t.app.inject({ method: 'GET', url, headers: { origin: spaOrigin } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['access-control-allow-origin']).toBe(spaOrigin);
    });

    it.each(corsEndpoints)('gives an unregistered origin no CORS headers on %s (%s)', async (url, method) => {
      const response = await t.app.inject({
        method,
        url,
        headers: { origin: evilOrigin, ...(method === 'POST' ? form : {}) },
        ...(method === 'POST' ? { payload: 'client_id=spa' } : {}),
      });
      expectNoCors(response);
      // The answer depends on Origin: caches must not serve it to another origin.
      expect(String(response.headers.vary)).toContain('Origin');
    });

    it('sends no CORS headers from the authorization endpoint, even with a registered Origin', async () => {
      const get = await t.app.inject({ method: 'GET', url: authorizeUrl(pkcePair().challenge), headers: { origin: spaOrigin } });
      expect(get.statusCode).toBe(200);
      expectNoCors(get);
      const post = await t.app.inject({
        method: 'POST',
        url: '/oidc/authorize',
        headers: { ...form, origin: spaOrigin },
        payload: 'client_id=nobody',
      });
      expect(post.statusCode).toBe(400);
      expectNoCors(post);
    });

    it('sends no CORS headers from the sign-in and consent pages, even with a registered Origin', async () => {
      const browser = new Browser(t.app);
      const login = await browser.get(authorizeUrl(pkcePair().challenge));
      const consent = await t.app.inject({
        method: 'POST',
        url: '/oidc/login',
        headers: { ...form, origin: spaOrigin, cookie: `dpop_oidc_interaction=${browser.cookies.get('dpop_oidc_interaction')}` },
        payload: new URLSearchParams({ ...hiddenFields(login.body), username: alice.username, password: alice.password }).toString(),
      });
      expect(consent.statusCode).toBe(200);
      expect(consent.body).toContain('name="decision"');
      expectNoCors(consent);
    });

    it('sends no CORS headers from the logout endpoint', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/oidc/logout', headers: { origin: spaOrigin } });
      expect(response.statusCode).toBe(200);
      expectNoCors(response);
    });

    it('sends no CORS headers, and no Vary, on a path with no route', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/oidc/nothing-here', headers: { origin: spaOrigin } });
      expect(response.statusCode).toBe(404);
      expectNoCors(response);
      expect(response.headers.vary).toBeUndefined();
      const preflightThere = await preflight('/oidc/nothing-here', spaOrigin);
      expect(preflightThere.statusCode).toBe(404);
      expectNoCors(preflightThere);
    });

    it.each([
      ['GET', '/oidc/token', 'POST'],
      ['HEAD', '/oidc/token', 'POST'],
      ['PUT', '/oidc/token', 'POST'],
      ['DELETE', '/oidc/profile', 'GET, HEAD, POST'],
      ['POST', '/oidc/jwks', 'GET, HEAD'],
      ['PATCH', discovery, 'GET, HEAD'],
    ] as const)('answers %s %s from a registered origin with a 405 it can read: Allow %s and CORS headers', async (method, url, allow) => {
      const response = await t.app.inject({ method, url, headers: { origin: spaOrigin } });
      expect(response.statusCode).toBe(405);
      expect(response.headers.allow).toBe(allow);
      expect(response.headers['access-control-allow-origin']).toBe(spaOrigin);
      if (method !== 'HEAD') expect(response.json().error).toBe('invalid_request');
    });

    it('gives an unregistered origin a 405 on a CORS path without CORS headers, and a caller without Origin the same 405', async () => {
      const evil = await t.app.inject({ method: 'GET', url: '/oidc/token', headers: { origin: evilOrigin } });
      expect(evil.statusCode).toBe(405);
      expect(evil.headers.allow).toBe('POST');
      expectNoCors(evil);
      const plain = await t.app.inject({ method: 'PUT', url: '/oidc/revoke' });
      expect(plain.statusCode).toBe(405);
      expect(plain.headers.allow).toBe('POST');
      expectNoCors(plain);
    });

    it('answers an OPTIONS that is no preflight on a CORS path as before: 405 with Allow naming the real methods', async () => {
      const response = await t.app.inject({ method: 'OPTIONS', url: '/oidc/token' });
      expect(response.statusCode).toBe(405);
      expect(response.headers.allow).toBe('POST');
      expect(response.json().error).toBe('invalid_request');
    });

    it('keeps Vary: Origin on a CORS path answered to a caller that sent no Origin (a shared cache must not mix them)', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/oidc/jwks' });
      expect(response.statusCode).toBe(200);
      expect(String(response.headers.vary)).toContain('Origin');
      expectNoCors(response);
    });
  });
});
