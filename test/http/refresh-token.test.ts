import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issuer, makeTestApp, storesFailingOnce, webClient, webRedirect, type TestApp } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import {
  expectTokens,
  introspect,
  profileRequest,
  refreshRequest,
  spaTokens,
  type UserTokens,
  webCode,
  webTokenRequest,
} from '../helpers/endpoints.js';
import { codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';
import { lastReason } from '../helpers/protocol.js';

/** A refusal with its error code and, from the log line, its reason: it cannot pass for another failure. */
function expectTokenError(t: TestApp, response: LightMyRequestResponse, error: string, reason: string, status = 400): void {
  expect(response.statusCode).toBe(status);
  expect(response.json().error).toBe(error);
  expect(lastReason(t)).toBe(reason);
  expect(response.headers['cache-control']).toBe('no-store');
}

describe('POST /oidc/token, grant_type=refresh_token (RFC 6749 §6, RFC 9449 §5, RFC 9700 §4.14)', () => {
  let t: TestApp;
  let key: ProofKey;
  let otherKey: ProofKey;
  let tokens: UserTokens;
  beforeEach(async () => {
    t = await makeTestApp();
    [key, otherKey] = await Promise.all([makeProofKey(), makeProofKey()]);
    tokens = await spaTokens(t, key);
  });
  afterEach(() => t.app.close());

  describe("a public client's refresh token is bound to its DPoP key (RFC 9449 §5)", () => {
    it('refuses a refresh with a proof by another key, without consuming the token', async () => {
      expectTokenError(t, await refreshRequest(t, tokens.refresh_token!, otherKey), 'invalid_grant', 'jkt');
      const next = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
      expect(next.token_type).toBe('DPoP');
      expect(decodeJwt(next.access_token).cnf).toEqual({ jkt: key.jkt });
    });

    it('refuses a refresh without a proof with invalid_dpop_proof, without consuming the token', async () => {
      expectTokenError(t, await refreshRequest(t, tokens.refresh_token!), 'invalid_dpop_proof', 'missing');
      expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    });

    it('refuses an invalid proof (wrong htu) with invalid_dpop_proof, without consuming the token', async () => {
      const badProof = await makeProof(key, { htu: `${issuer}/revoke`, iat: t.clock() / 1000 });
      const response = await tokenRequest(
        t,
        { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: 'spa' },
        undefined,
        {
          dpop: badProof,
        },
      );
      expectTokenError(t, response, 'invalid_dpop_proof', 'htu');
      expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    });

    it('keeps the binding across rotations: the successor needs the same key', async () => {
      const next = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
      expectTokenError(t, await refreshRequest(t, next.refresh_token!, otherKey), 'invalid_grant', 'jkt');
      expectTokenError(t, await refreshRequest(t, next.refresh_token!), 'invalid_dpop_proof', 'missing');
      expectTokens(await refreshRequest(t, next.refresh_token!, key));
    });

    it('binds the refresh token to the key of the code exchange proof, also without dpop_jkt', async () => {
      const { code, verifier } = await signInAndConsent(new Browser(t.app));
      const bound = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
      expect(bound.token_type).toBe('DPoP');
      expectTokenError(t, await refreshRequest(t, bound.refresh_token!, otherKey), 'invalid_grant', 'jkt');
      expectTokenError(t, await refreshRequest(t, bound.refresh_token!), 'invalid_dpop_proof', 'missing');
      expectTokens(await refreshRequest(t, bound.refresh_token!, key));
    });

    it('binds the refresh token at the first refresh with a proof when the code was redeemed without one', async () => {
      const { code, verifier } = await signInAndConsent(new Browser(t.app));
      const bearer = expectTokens(await tokenRequest(t, codeExchange(code, verifier)));
      expect(bearer.token_type).toBe('Bearer');
      const bound = expectTokens(await refreshRequest(t, bearer.refresh_token!, key));
      expect(decodeJwt(bound.access_token).cnf).toEqual({ jkt: key.jkt });
      // "issues a refresh token to a public client that presents a valid DPoP proof ... MUST be bound"
      expectTokenError(t, await refreshRequest(t, bound.refresh_token!, otherKey), 'invalid_grant', 'jkt');
      expectTokenError(t, await refreshRequest(t, bound.refresh_token!), 'invalid_dpop_proof', 'missing');
      expectTokens(await refreshRequest(t, bound.refresh_token!, key));
    });
  });

  describe('scope (RFC 6749 §6)', () => {
    it('narrows the scope of the new access token, and the refresh token keeps the original scope', async () => {
      const narrowed = expectTokens(await refreshRequest(t, tokens.refresh_token!, key, { scope: 'openid profile' }));
      expect(narrowed.scope).toBe('openid profile');
      expect(decodeJwt(narrowed.access_token).scope).toBe('openid profile');
      const profile = await profileRequest(t, narrowed.access_token, key);
      expect(profile.statusCode).toBe(200);
      expect(profile.json().email).toBeUndefined();
      expect(profile.json().name).toBe('Alice Example');

      const full = expectTokens(await refreshRequest(t, narrowed.refresh_token!, key));
      expect(full.scope).toBe('openid profile email offline_access');
    });

    it('refuses a wider scope with invalid_scope, without consuming the token', async () => {
      // api:read is allowed for the client, but was not granted.
      expectTokenError(t, await refreshRequest(t, tokens.refresh_token!, key, { scope: 'openid api:read' }), 'invalid_scope', 'scope');
      expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    });
  });

  describe('refusals', () => {
    it('refuses a refresh token presented by another client with invalid_grant, without consuming it', async () => {
      expectTokenError(t, await refreshRequest(t, tokens.refresh_token!, key, {}, 'first-party-spa'), 'invalid_grant', 'refresh_token');
      expectTokenError(
        t,
        await webTokenRequest(t, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, key),
        'invalid_grant',
        'refresh_token',
      );
      expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    });

    it('refuses an unknown refresh token with invalid_grant', async () => {
      expectTokenError(t, await refreshRequest(t, 'A'.repeat(43), key), 'invalid_grant', 'refresh_token');
    });

    it('refuses a missing refresh_token with invalid_request', async () => {
      expectTokenError(
        t,
        await tokenRequest(t, { grant_type: 'refresh_token', client_id: 'spa' }, key),
        'invalid_request',
        'refresh_token',
      );
    });

    it('refuses an expired refresh token (14 days) with invalid_grant', async () => {
      t.clock.advance(14 * 86_400_000 + 1_000);
      expectTokenError(t, await refreshRequest(t, tokens.refresh_token!, key), 'invalid_grant', 'refresh_token');
    });

    it('refuses a rotated refresh token and then revokes the grant (reuse detection, RFC 9700 §4.14)', async () => {
      const next = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
      // Past the retry grace (refreshToken.reuseGraceSeconds, 60 s), the holder's own key counts as reuse too.
      t.clock.advance(61_000);
      expectTokenError(t, await refreshRequest(t, tokens.refresh_token!, key), 'invalid_grant', 'refresh_reuse');
      expectTokenError(t, await refreshRequest(t, next.refresh_token!, key), 'invalid_grant', 'revoked');
      expect(await introspect(t, next.access_token)).toEqual({ active: false });
      expect(await introspect(t, tokens.access_token)).toEqual({ active: false });
    });
  });
});

describe("the confidential client's refresh token (RFC 9449 §5: constrained by client authentication)", () => {
  let t: TestApp;
  let key: ProofKey;
  let tokens: UserTokens;
  const refresh = (refreshToken: string, proofKey?: ProofKey) =>
    webTokenRequest(t, { grant_type: 'refresh_token', refresh_token: refreshToken }, proofKey);

  beforeEach(async () => {
    t = await makeTestApp();
    key = await makeProofKey();
    const code = await webCode(new Browser(t.app));
    tokens = expectTokens(await webTokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: webRedirect }, key));
    expect(tokens.token_type).toBe('DPoP');
  });
  afterEach(() => t.app.close());

  it('is not bound to the DPoP key: a refresh without a proof gets a Bearer token', async () => {
    const next = expectTokens(await refresh(tokens.refresh_token!));
    expect(next.token_type).toBe('Bearer');
    expect(decodeJwt(next.access_token).cnf).toBeUndefined();
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
  });

  it('binds the new access token to whichever key signs the refresh proof', async () => {
    const otherKey = await makeProofKey();
    const next = expectTokens(await refresh(tokens.refresh_token!, otherKey));
    expect(decodeJwt(next.access_token).cnf).toEqual({ jkt: otherKey.jkt });
  });

  it('is refused without client authentication', async () => {
    const response = await tokenRequest(t, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: webClient.id });
    expectTokenError(t, response, 'invalid_client', 'client_auth', 401);
    expectTokens(await refresh(tokens.refresh_token!));
  });

  it('rotates, and a reused refresh token revokes the grant', async () => {
    const second = expectTokens(await refresh(tokens.refresh_token!));
    const third = expectTokens(await refresh(second.refresh_token!));
    expect(new Set([tokens.refresh_token, second.refresh_token, third.refresh_token]).size).toBe(3);

    t.clock.advance(61_000);
    expectTokenError(t, await refresh(second.refresh_token!), 'invalid_grant', 'refresh_reuse');
    expectTokenError(t, await refresh(third.refresh_token!), 'invalid_grant', 'revoked');
    for (const accessToken of [tokens.access_token, second.access_token, third.access_token]) {
      expect(await introspect(t, accessToken)).toEqual({ active: false });
    }
  });
});

describe('a refresh that fails after its checks (a store error, 503) does not use up the refresh token', () => {
  it('lets the client retry the same refresh token, without taking the retry for reuse', async () => {
    const { stores, failNext } = await storesFailingOnce();
    const t = await makeTestApp({}, { stores });
    try {
      const key = await makeProofKey();
      const tokens = await spaTokens(t, key);
      failNext();
      const failed = await refreshRequest(t, tokens.refresh_token!, key);
      expect(failed.statusCode).toBe(503);
      expect(failed.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'try again later' });

      const retried = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
      expect(retried.refresh_token).not.toBe(tokens.refresh_token);
      expect((await introspect(t, retried.access_token)).active).toBe(true);
    } finally {
      await t.app.close();
    }
  });
});
