import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { alice, defaultTestClients, testSigningKeys, testUsers } from '../helpers/app.js';
import { freePort } from '../helpers/net.js';
import { serveExample, type ServedExample } from './serve-example.js';

/**
 * The example single-page app (examples/spa, built with its vite config) on its own origin, in
 * Debian's Chromium, against a provider that requires DPoP nonces: a non-extractable WebCrypto
 * key in IndexedDB, the code flow with PKCE and dpop_jkt through the real sign-in and consent
 * pages, then cross-origin token, profile, refresh, revocation and logout (CORS preflights,
 * DPoP-Nonce and WWW-Authenticate read across origins).
 */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Chromium and always runs this; elsewhere it runs where Chromium is installed.
const runs = process.env.CI === 'true' || existsSync(chromiumPath);
const screenshotFile = fileURLToPath(new URL('../../docs/images/spa.png', import.meta.url));

describe.runIf(runs)('the example single-page app in a real browser', () => {
  let provider: FastifyInstance;
  let spa: ServedExample;
  let browser: Browser;
  let page: Page;
  let logged = '';

  beforeAll(async () => {
    const [providerPort, spaPort] = [await freePort(), await freePort()];
    const issuer = `http://127.0.0.1:${providerPort}/oidc`;
    const spaOrigin = `http://localhost:${spaPort}`;
    const config = parseConfig({
      issuer,
      logLevel: 'info',
      users: await testUsers(),
      dpop: { requireNonce: true },
      clients: [
        ...defaultTestClients(),
        {
          client_id: 'browser-spa',
          client_name: 'Browser SPA',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token'],
          redirect_uris: [`${spaOrigin}/callback`],
          post_logout_redirect_uris: [`${spaOrigin}/`],
          scope: 'openid profile email offline_access',
          dpop_bound_access_tokens: true,
        },
      ],
    });
    const logStream = new Writable({
      write(chunk, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    provider = await buildApp({ config, signingKeys: await testSigningKeys(), nonceSecret: Buffer.alloc(32, 3), logStream });
    await provider.listen({ port: providerPort, host: '127.0.0.1' });
    spa = await serveExample(spaPort, { issuer, clientId: 'browser-spa', scope: 'openid profile email offline_access' });

    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 820, height: 640 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await spa?.close();
    await provider?.close();
  });

  const ready = () => page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  const requests = async () => (await page.locator('#log li').allTextContents()).join('\n');
  const errorText = async () => (await page.textContent('#error')) ?? '';
  // What the page's own key does when asked to export its private half (run in the page).
  const exportAttempt = () =>
    page.evaluate(`new Promise((resolve, reject) => {
      const open = indexedDB.open('dpop-oidc-spa', 1);
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const get = open.result.transaction('keys').objectStore('keys').get('dpop');
        get.onerror = () => reject(get.error);
        get.onsuccess = () => {
          open.result.close();
          const key = get.result;
          if (!key) return resolve('no key');
          crypto.subtle.exportKey('jwk', key.privateKey).then(() => resolve('exported'), (error) => resolve(error.name));
        };
      };
    })`);
  const preflights = (path: string) =>
    logged
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg?: string; method?: string; route?: string })
      // A preflight has a route of its own on each CORS path (src/http/cors.ts), logged by name.
      .filter((line) => line.msg === 'request completed' && line.method === 'OPTIONS' && line.route === path).length;

  it('signs in as alice through the sign-in and consent pages, with the nonce retry at the token and profile endpoints', async () => {
    await page.goto(`${spa.origin}/`);
    await ready();
    await page.click('#sign-in');
    await page.waitForSelector('input[name="password"]');
    await page.fill('input[name="username"]', alice.username);
    await page.fill('input[name="password"]', alice.password);
    await page.click('button[type="submit"]');
    await page.waitForSelector('button[name="decision"][value="allow"]');
    await page.click('button[name="decision"][value="allow"]');
    // Back at /callback: the page redeems the code, calls the profile, and drops the query.
    await page.locator('#signed-in').waitFor({ timeout: 20_000 });
    await ready();

    expect(await errorText()).toBe('');
    expect(page.url()).toBe(`${spa.origin}/`);
    expect(JSON.parse((await page.textContent('#profile')) ?? '{}')).toMatchObject({
      sub: alice.sub,
      name: 'Alice Example',
      email: 'alice@example.test',
    });
    expect(await page.textContent('#token')).toBe('DPoP, expires in 600 s');
    // Both retries read DPoP-Nonce, and the profile one WWW-Authenticate, across origins.
    expect(await requests()).toBe(
      [
        'POST /oidc/token → 400 use_dpop_nonce: retrying with the DPoP-Nonce',
        'POST /oidc/token → 200',
        'GET /oidc/profile → 401 use_dpop_nonce: retrying with the DPoP-Nonce',
        'GET /oidc/profile → 200',
      ].join('\n'),
    );
    // The DPoP and Authorization headers make both calls preflighted.
    expect(preflights('/oidc/token')).toBeGreaterThanOrEqual(1);
    expect(preflights('/oidc/profile')).toBeGreaterThanOrEqual(1);

    // The README shows docs/images/spa.png; rewrite it only when asked to (UPDATE_SCREENSHOT=1).
    const target = process.env.UPDATE_SCREENSHOT === '1' || !existsSync(screenshotFile) ? screenshotFile : join(tmpdir(), 'spa.png');
    mkdirSync(join(target, '..'), { recursive: true });
    await page.locator('main').screenshot({ path: target });
    expect(readFileSync(target).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  }, 60_000);

  it('keeps the private key non-extractable in IndexedDB', async () => {
    expect(await page.textContent('#extractable')).toBe('false');
    expect(await exportAttempt()).toBe('InvalidAccessError');
  });

  it('after a reload, the same key from IndexedDB redeems the bound refresh token and calls the profile', async () => {
    const jkt = await page.textContent('#jkt');
    expect(jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.reload();
    await ready();
    expect(await errorText()).toBe('');
    expect(await page.textContent('#jkt')).toBe(jkt);
    // The nonces were in memory: the retry happens again, then the refresh and the profile pass.
    expect(await requests()).toBe(
      [
        'POST /oidc/token → 400 use_dpop_nonce: retrying with the DPoP-Nonce',
        'POST /oidc/token → 200',
        'GET /oidc/profile → 401 use_dpop_nonce: retrying with the DPoP-Nonce',
        'GET /oidc/profile → 200',
      ].join('\n'),
    );
    expect(JSON.parse((await page.textContent('#profile')) ?? '{}')).toMatchObject({ sub: alice.sub });
  });

  it('refreshes with the nonce it already holds, revokes the grant, and reads the invalid_token challenge across origins', async () => {
    await page.click('#refresh');
    await page.locator('#log li').nth(5).waitFor();
    expect((await requests()).split('\n').slice(4)).toEqual(['POST /oidc/token → 200', 'GET /oidc/profile → 200']);

    await page.click('#revoke');
    await page.locator('#log li').nth(7).waitFor();
    const [revoked, refused] = (await requests()).split('\n').slice(6);
    expect(revoked).toBe('POST /oidc/revoke → 200');
    expect(refused).toMatch(/^GET \/oidc\/profile → 401 DPoP error="invalid_token", error_description="access token has been revoked"/);
    expect(await errorText()).toMatch(/^profile: 401 DPoP error="invalid_token"/);
  });

  it('signs out: ends the provider session, comes back, forgets the key', async () => {
    await page.click('#sign-out');
    // Back from the provider's logout at /?state=signed-out (the page then drops the query).
    await page.locator('#error', { hasText: 'Signed out.' }).waitFor({ timeout: 20_000 });
    expect(page.url()).toBe(`${spa.origin}/`);
    expect(await exportAttempt()).toBe('no key');
    // The provider's session is gone: signing in again asks for the password.
    await page.click('#sign-in');
    await page.waitForSelector('input[name="password"]');
  });
});
