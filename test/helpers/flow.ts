import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { alice, form, issuer, spaRedirect, type TestApp } from './app.js';
import { Browser, pkcePair, redirectParams } from './browser.js';
import { makeProof, type ProofKey } from './dpop.js';

export interface AuthorizeOptions {
  clientId?: string;
  redirectUri?: string;
  scope?: string;
  state?: string;
  nonce?: string;
  /** Extra or replacing query parameters; `undefined` removes one. */
  params?: Record<string, string | undefined>;
}

export function authorizeUrl(challenge: string | undefined, options: AuthorizeOptions = {}): string {
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: options.clientId ?? 'spa',
    redirect_uri: options.redirectUri ?? spaRedirect,
    scope: options.scope ?? 'openid profile email offline_access',
    state: options.state ?? 'state-123',
    nonce: options.nonce ?? 'nonce-456',
    ...(challenge ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
    ...options.params,
  };
  const query = new URLSearchParams(Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return `/oidc/authorize?${query}`;
}

/**
 * Runs the browser part of the flow: authorize, sign in as alice, consent when asked.
 * Returns the final redirect to the client and the PKCE verifier.
 */
export async function signInAndConsent(
  browser: Browser,
  options: AuthorizeOptions & { dpopJkt?: string } = {},
): Promise<{ redirect: LightMyRequestResponse; code: string; verifier: string }> {
  const { verifier, challenge } = pkcePair();
  const url = authorizeUrl(challenge, {
    ...options,
    params: { ...(options.dpopJkt ? { dpop_jkt: options.dpopJkt } : {}), ...options.params },
  });
  let page = await browser.get(url);
  if (page.statusCode === 200 && page.body.includes('name="password"')) {
    page = await browser.submit(page, { username: alice.username, password: alice.password });
  }
  if (page.statusCode === 200 && page.body.includes('name="decision"')) {
    page = await browser.submit(page, { decision: 'allow' });
  }
  expect(page.statusCode).toBe(303);
  const code = redirectParams(page).get('code');
  if (!code) throw new Error(`no code in ${page.headers.location}`);
  return { redirect: page, code, verifier };
}

/** POSTs to the token endpoint as a public client, with a fresh proof by `key` when given. */
export async function tokenRequest(
  t: TestApp,
  fields: Record<string, string>,
  key?: ProofKey,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url: '/oidc/token',
    headers: {
      ...form,
      ...(key ? { dpop: await makeProof(key, { htu: `${issuer}/token`, iat: t.clock() / 1000 }) } : {}),
      ...headers,
    },
    payload: new URLSearchParams(fields).toString(),
  });
}

export function codeExchange(code: string, verifier: string, clientId = 'spa', redirectUri = spaRedirect): Record<string, string> {
  return { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientId, redirect_uri: redirectUri };
}
