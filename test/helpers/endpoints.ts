import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { alice, basicAuth, form, issuer, resourceServer, webClient, webRedirect, type TestApp } from './app.js';
import { Browser } from './browser.js';
import { makeProof, type ProofKey } from './dpop.js';
import { authorizeUrl, codeExchange, signInAndConsent, tokenRequest, type AuthorizeOptions } from './flow.js';

/** The token response fields the user-token tests read. */
export interface UserTokens {
  access_token: string;
  token_type: string;
  scope: string;
  refresh_token?: string;
  id_token?: string;
}

/** Introspection by the resource server (RFC 7662), as an RS would ask. */
export async function introspect(t: TestApp, token: string): Promise<Record<string, unknown>> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/oidc/introspect',
    headers: { ...form, authorization: basicAuth(resourceServer.id, resourceServer.secret) },
    payload: new URLSearchParams({ token }).toString(),
  });
  expect(response.statusCode).toBe(200);
  return response.json();
}

/** GET /oidc/profile with a DPoP-bound token and a fresh proof by `key`. */
export async function profileRequest(t: TestApp, accessToken: string, key: ProofKey): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'GET',
    url: '/oidc/profile',
    headers: {
      authorization: `DPoP ${accessToken}`,
      dpop: await makeProof(key, { htm: 'GET', htu: `${issuer}/profile`, iat: t.clock() / 1000, accessToken }),
    },
  });
}

/** POST /oidc/revoke (RFC 7009) with the given form fields and headers. */
export function revokeRequest(
  t: TestApp,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url: '/oidc/revoke',
    headers: { ...form, ...headers },
    payload: new URLSearchParams(fields).toString(),
  });
}

/** The refresh_token grant as the public client `spa` (or `clientId`), with a proof by `key` when given. */
export function refreshRequest(t: TestApp, refreshToken: string, key?: ProofKey, extra: Record<string, string> = {}, clientId = 'spa') {
  return tokenRequest(t, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId, ...extra }, key);
}

/** Signs alice in to `spa` with dpop_jkt of `key`, and redeems the code with a proof by `key`. */
export async function spaTokens(t: TestApp, key: ProofKey, options: AuthorizeOptions = {}): Promise<UserTokens> {
  const { code, verifier } = await signInAndConsent(new Browser(t.app), { ...options, dpopJkt: key.jkt });
  const response = await tokenRequest(t, codeExchange(code, verifier), key);
  expect(response.statusCode).toBe(200);
  return response.json();
}

/** A code for the confidential, first-party `web` client; without PKCE unless a challenge is given. */
export async function webCode(browser: Browser, challenge?: string, scope = 'openid profile offline_access'): Promise<string> {
  let page = await browser.get(authorizeUrl(challenge, { clientId: webClient.id, redirectUri: webRedirect, scope }));
  if (page.body.includes('name="password"')) {
    page = await browser.submit(page, { username: alice.username, password: alice.password });
  }
  expect(page.statusCode).toBe(303);
  const code = new URL(String(page.headers.location)).searchParams.get('code');
  if (!code) throw new Error(`no code in ${page.headers.location}`);
  return code;
}

/** The token endpoint as the `web` client, authenticated with client_secret_basic. */
export function webTokenRequest(t: TestApp, fields: Record<string, string>, key?: ProofKey): Promise<LightMyRequestResponse> {
  return tokenRequest(t, fields, key, { authorization: basicAuth(webClient.id, webClient.secret) });
}

/** A successful token response (RFC 6749 §5.1: never cached), as the user's tokens. */
export function expectTokens(response: LightMyRequestResponse): UserTokens {
  expect(response.statusCode).toBe(200);
  expect(response.headers['cache-control']).toBe('no-store');
  return response.json();
}
