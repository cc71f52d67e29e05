import type { FastifyInstance } from 'fastify';
import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { alice, defaultTestClients, testSigningKeys, testUsers } from '../helpers/app.js';
import { hiddenFields } from '../helpers/browser.js';
import { freePort } from '../helpers/net.js';

/**
 * Interoperability: openid-client v6 (on oauth4webapi) as the relying party, against the real app
 * on a real socket. Nothing here builds a request or checks a response by hand, apart from the
 * browser's part (sign-in and consent forms): discovery, the authorization URL, PKCE, DPoP proofs
 * and nonces, the ID token and the token responses are all openid-client's.
 */

const clientId = 'interop-spa';
const redirectUri = 'http://localhost:3000/callback';

/** A browser stand-in over fetch: keeps cookies, never follows redirects, submits forms. */
class FetchBrowser {
  private readonly cookies = new Map<string, string>();

  async get(url: string): Promise<Response> {
    return this.send(url, { method: 'GET' });
  }

  /** Submits the page's form (action resolved against the page URL) with its hidden fields and `fields`. */
  async submit(pageUrl: string, html: string, fields: Record<string, string>): Promise<Response> {
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`no form on the page: ${html.slice(0, 300)}`);
    return this.send(new URL(action.replace(/&amp;/g, '&'), pageUrl).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...hiddenFields(html), ...fields }).toString(),
    });
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const headers = new Headers(init.headers);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = value === '' || attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }
}

/** Signs in as alice and allows the request; returns the Location of the final redirect to the client. */
async function signInAndConsent(authorizationUrl: URL): Promise<string> {
  const browser = new FetchBrowser();
  let pageUrl = authorizationUrl.href;
  let response = await browser.get(pageUrl);
  let html = response.status === 200 ? await response.text() : '';
  if (response.status === 200 && html.includes('name="password"')) {
    response = await browser.submit(pageUrl, html, { username: alice.username, password: alice.password });
    pageUrl = new URL('login', pageUrl).href;
    html = response.status === 200 ? await response.text() : '';
  }
  if (response.status === 200 && html.includes('name="decision"')) {
    expect(html).toContain('Stay signed in');
    response = await browser.submit(pageUrl, html, { decision: 'allow' });
  }
  if (response.status !== 303)
    throw new Error(`expected the redirect to the client, got ${response.status}: ${(await response.text()).slice(0, 300)}`);
  const location = response.headers.get('location');
  if (!location) throw new Error('303 without a Location');
  return location;
}

describe.each([
  { label: 'DPoP nonces not required', requireNonce: false },
  { label: 'DPoP nonces required (openid-client retries on use_dpop_nonce)', requireNonce: true },
])('openid-client v6 against the provider over a real socket: $label', ({ requireNonce }) => {
  let app: FastifyInstance;
  let issuer: string;
  let config: client.Configuration;
  /** What openid-client sent and got back, recorded through its customFetch hook. */
  const exchanges: Array<{ path: string; status: number; error?: string; proofNonce?: string; dpopNonce?: string; proof: boolean }> = [];

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}/oidc`;
    const appConfig = parseConfig({
      issuer,
      logLevel: 'silent',
      users: await testUsers(),
      dpop: { requireNonce },
      // Strict rotation (no retry grace; the real clock cannot be moved past it): the holder's
      // retry within the grace is tested in test/http/refresh-retry.test.ts.
      refreshToken: { reuseGraceSeconds: 0 },
      clients: [
        ...defaultTestClients(),
        {
          client_id: clientId,
          client_name: 'openid-client interop',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token'],
          redirect_uris: [redirectUri],
          scope: 'openid profile email offline_access',
          dpop_bound_access_tokens: true,
        },
      ],
    });
    app = await buildApp({ config: appConfig, signingKeys: await testSigningKeys(), nonceSecret: Buffer.alloc(32, 9) });
    await app.listen({ port, host: '127.0.0.1' });

    config = await client.discovery(new URL(issuer), clientId, { id_token_signed_response_alg: 'ES256' }, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    config[client.customFetch] = async (url, options) => {
      const response = await fetch(url, options);
      const wwwAuthenticate = response.headers.get('www-authenticate') ?? '';
      const body = response.status === 400 ? ((await response.clone().json()) as { error?: string }) : {};
      const error = body.error ?? /error="([^"]+)"/.exec(wwwAuthenticate)?.[1];
      const proof = Object.entries(options.headers).find(([name]) => name.toLowerCase() === 'dpop')?.[1];
      const proofNonce = proof ? decodeJwt(proof).nonce : undefined;
      const dpopNonce = response.headers.get('dpop-nonce');
      exchanges.push({
        path: new URL(url).pathname,
        status: response.status,
        proof: proof !== undefined,
        ...(error ? { error } : {}),
        ...(typeof proofNonce === 'string' ? { proofNonce } : {}),
        ...(dpopNonce ? { dpopNonce } : {}),
      });
      return response;
    };
  });
  afterAll(() => app?.close());

  it('discovers the provider metadata', () => {
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(issuer);
    expect(metadata.token_endpoint).toBe(`${issuer}/token`);
    expect(metadata.userinfo_endpoint).toBe(`${issuer}/profile`);
    expect(metadata.dpop_signing_alg_values_supported).toContain('ES256');
    expect(metadata.supportsPKCE('S256')).toBe(true);
  });

  it('runs the code flow with PKCE and dpop_jkt, userinfo, refresh, and revocation', async () => {
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const DPoP = client.getDPoPHandle(config, keyPair);
    const jkt = await DPoP.calculateThumbprint();
    // The handle's thumbprint is the RFC 7638 thumbprint of the public key.
    expect(jkt).toBe(await calculateJwkThumbprint(await exportJWK(keyPair.publicKey), 'sha256'));

    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email offline_access',
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
      dpop_jkt: jkt,
    });
    expect(authorizationUrl.href.startsWith(`${issuer}/authorize?`)).toBe(true);

    const location = await signInAndConsent(authorizationUrl);
    const callback = new URL(location);
    expect(`${callback.origin}${callback.pathname}`).toBe(redirectUri);
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('iss')).toBe(issuer);

    // openid-client validates iss, state, the code exchange, the ID token (signature, iss, aud,
    // exp, iat, nonce, at_hash when present) and the DPoP binding of the response.
    const tokens = await client.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
      undefined,
      { DPoP },
    );
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect(tokens.scope).toBe('openid profile email offline_access');
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: alice.sub, client_id: clientId, cnf: { jkt } });
    const claims = tokens.claims();
    expect(claims).toMatchObject({ iss: issuer, sub: alice.sub, aud: clientId, nonce, azp: clientId });

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, alice.sub, { DPoP });
    expect(userinfo).toMatchObject({
      sub: alice.sub,
      name: 'Alice Example',
      preferred_username: 'alice',
      email: 'alice@example.test',
      email_verified: true,
    });

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP });
    expect(refreshed.token_type.toLowerCase()).toBe('dpop');
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ sub: alice.sub, cnf: { jkt } });
    // The new access token works at userinfo with the same key.
    await expect(client.fetchUserInfo(config, refreshed.access_token, alice.sub, { DPoP })).resolves.toMatchObject({ sub: alice.sub });

    // The rotated-out refresh token is spent.
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP })).rejects.toMatchObject({
      error: 'invalid_grant',
    });

    await client.tokenRevocation(config, refreshed.refresh_token!);
    const error = await client.refreshTokenGrant(config, refreshed.refresh_token!, undefined, { DPoP }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(client.ResponseBodyError);
    expect(error).toMatchObject({ error: 'invalid_grant', status: 400 });

    // Every token and userinfo request carried a DPoP proof.
    const proofed = exchanges.filter((e) => e.path === '/oidc/token' || e.path === '/oidc/profile');
    expect(proofed.length).toBeGreaterThanOrEqual(6);
    expect(proofed.every((e) => e.proof)).toBe(true);
    const nonceErrors = proofed.filter((e) => e.error === 'use_dpop_nonce');
    if (!requireNonce) {
      // No nonce is asked for, none is handed out, and none is sent.
      expect(nonceErrors).toEqual([]);
      expect(proofed.filter((e) => e.dpopNonce !== undefined || e.proofNonce !== undefined)).toEqual([]);
    } else {
      // openid-client meets use_dpop_nonce (400 at the token endpoint, 401 at userinfo), retries
      // once with the nonce it was just given, and that retry is not refused for its nonce.
      expect(nonceErrors.length).toBeGreaterThan(0);
      for (const [index, exchange] of proofed.entries()) {
        if (exchange.error !== 'use_dpop_nonce') continue;
        expect(exchange.status).toBe(exchange.path === '/oidc/token' ? 400 : 401);
        expect(exchange.dpopNonce).toEqual(expect.any(String));
        const retry = proofed[index + 1];
        expect(retry).toMatchObject({ path: exchange.path, proofNonce: exchange.dpopNonce });
        expect(retry?.error).not.toBe('use_dpop_nonce');
      }
      // Every request that went through carried a nonce.
      expect(proofed.filter((e) => e.status === 200 && e.proofNonce === undefined)).toEqual([]);
      // The provider keeps authorization-server and resource-server nonces apart (RFC 9449 §9),
      // while openid-client keeps one nonce per origin: each switch between the token endpoint and
      // userinfo here costs a use_dpop_nonce round trip. Both are within RFC 9449; the retry
      // absorbs it. This pins that the first request to each endpoint is the one refused.
      expect(nonceErrors.map((e) => e.path).slice(0, 2)).toEqual(['/oidc/token', '/oidc/profile']);
    }
    // Revocation takes no proof (RFC 7009; RFC 9449 does not sender-constrain it).
    expect(exchanges.filter((e) => e.path === '/oidc/revoke')).toEqual([{ path: '/oidc/revoke', status: 200, proof: false }]);
  });

  it('surfaces a refused authorization (access_denied) as an AuthorizationResponseError', async () => {
    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      // alice may have consented already in this app: ask again.
      prompt: 'consent',
      state,
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
    });
    const browser = new FetchBrowser();
    const login = await browser.get(authorizationUrl.href);
    const consent = await browser.submit(authorizationUrl.href, await login.text(), { username: alice.username, password: alice.password });
    expect(consent.status).toBe(200);
    const denied = await browser.submit(new URL('login', authorizationUrl).href, await consent.text(), { decision: 'deny' });
    expect(denied.status).toBe(303);
    const error = await client
      .authorizationCodeGrant(config, new URL(denied.headers.get('location')!), { pkceCodeVerifier, expectedState: state })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(error).toBeInstanceOf(client.AuthorizationResponseError);
    expect(error).toMatchObject({ error: 'access_denied' });
  });
});
