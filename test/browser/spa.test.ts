import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { alice, defaultTestClients, testSigningKeys, testUsers } from '../helpers/app.js';
import { freePort } from '../helpers/net.js';

/**
 * A single-page app on its own origin, in Debian's Chromium: a non-extractable WebCrypto key,
 * the code flow with PKCE and dpop_jkt, the real sign-in and consent pages, then cross-origin
 * token, profile, refresh and revocation calls with DPoP proofs (CORS preflights included).
 */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Chromium and always runs this; elsewhere it runs where Chromium is installed.
const runs = process.env.CI === 'true' || existsSync(chromiumPath);

describe.runIf(runs)('a single-page app in a real browser', () => {
  let provider: FastifyInstance;
  let spa: Server;
  let browser: Browser;
  let spaOrigin: string;

  beforeAll(async () => {
    const [providerPort, spaPort] = [await freePort(), await freePort()];
    const issuer = `http://127.0.0.1:${providerPort}/oidc`;
    spaOrigin = `http://localhost:${spaPort}`;
    const redirectUri = `${spaOrigin}/callback`;
    const config = parseConfig({
      issuer,
      logLevel: 'silent',
      users: await testUsers(),
      clients: [
        ...defaultTestClients(),
        {
          client_id: 'browser-spa',
          client_name: 'Browser SPA',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token'],
          redirect_uris: [redirectUri],
          scope: 'openid profile email offline_access',
          dpop_bound_access_tokens: true,
        },
      ],
    });
    provider = await buildApp({ config, signingKeys: await testSigningKeys(), nonceSecret: Buffer.alloc(32, 3) });
    await provider.listen({ port: providerPort, host: '127.0.0.1' });

    const html = readFileSync(new URL('./spa.html', import.meta.url), 'utf8')
      .replace('{{ISSUER}}', issuer)
      .replace('{{CLIENT_ID}}', 'browser-spa')
      .replace('{{REDIRECT_URI}}', redirectUri);
    spa = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    });
    await new Promise<void>((resolve) => spa.listen(spaPort, '127.0.0.1', resolve));

    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => spa?.close(resolve));
    await provider?.close();
  });

  it('signs in, gets DPoP-bound tokens, calls profile, refreshes and revokes from another origin', async () => {
    const page = await browser.newPage();
    await page.goto(`${spaOrigin}/`);
    await page.waitForSelector('input[name="password"]');
    await page.fill('input[name="username"]', alice.username);
    await page.fill('input[name="password"]', alice.password);
    await page.click('button[type="submit"]');
    await page.waitForSelector('button[name="decision"][value="allow"]');
    await page.click('button[name="decision"][value="allow"]');
    await page.waitForURL(`${spaOrigin}/callback?**`);
    await page.waitForSelector('#result:not(:empty)', { timeout: 20_000 });
    const result = JSON.parse((await page.textContent('#result')) ?? '{}');

    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({
      extractable: false,
      tokenStatus: 200,
      tokenType: 'DPoP',
      hasIdToken: true,
      profileStatus: 200,
      profile: { sub: alice.sub, name: 'Alice Example', email: 'alice@example.test' },
      refreshStatus: 200,
      refreshedType: 'DPoP',
      rotated: true,
      refusedStatus: 401,
      revokeStatus: 200,
    });
    expect(result.challenge).toMatch(/^DPoP error="invalid_dpop_proof"/);
  }, 60_000);
});
