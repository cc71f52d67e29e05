import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createStores, type Stores } from '../../src/stores/create-stores.js';
import { StoreUnavailableError } from '../../src/stores/ports.js';
import { basicAuth, form, issuer, makeTestApp, serviceClient, testClock, webClient, webRedirect, type TestApp } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import {
  introspect,
  profileRequest,
  refreshRequest,
  revokeRequest,
  spaTokens,
  webCode,
  webTokenRequest,
  type UserTokens,
} from '../helpers/endpoints.js';
import { lastReason } from '../helpers/protocol.js';

/** RFC 7009 §2.2: 200 with nothing to read, whether or not the token was known. */
function expectRevoked(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(200);
  expect(response.body).toBe('');
  expect(response.headers['cache-control']).toBe('no-store');
}

/** A refusal with its error code and, from the log line, its reason: it cannot pass for another failure. */
function expectRevocationError(t: TestApp, response: LightMyRequestResponse, error: string, reason: string, status = 400): void {
  expect(response.statusCode).toBe(status);
  expect(response.json().error).toBe(error);
  expect(lastReason(t)).toBe(reason);
  expect(response.headers['cache-control']).toBe('no-store');
}

describe('POST /oidc/revoke (RFC 7009)', () => {
  let t: TestApp;
  let key: ProofKey;
  let tokens: UserTokens;
  const spa = (fields: Record<string, string>) => revokeRequest(t, { client_id: 'spa', ...fields });

  async function expectAccessDenied(accessToken: string): Promise<void> {
    expect(await introspect(t, accessToken)).toEqual({ active: false });
    const profile = await profileRequest(t, accessToken, key);
    expect(profile.statusCode).toBe(401);
    expect(profile.json().error).toBe('invalid_token');
    expect(lastReason(t)).toBe('revoked');
    expect(profile.headers['www-authenticate']).toMatch(
      /^DPoP error="invalid_token", error_description="access token has been revoked", algs="/,
    );
  }

  beforeEach(async () => {
    t = await makeTestApp();
    key = await makeProofKey();
    tokens = await spaTokens(t, key);
    expect((await introspect(t, tokens.access_token)).active).toBe(true);
  });
  afterEach(() => t.app.close());

  describe('what a revocation revokes', () => {
    it('revokes the whole grant for a refresh token: its access tokens and the refresh token stop working (§2.1)', async () => {
      const refreshed = (await refreshRequest(t, tokens.refresh_token!, key)).json() as UserTokens;
      expectRevoked(await spa({ token: refreshed.refresh_token!, token_type_hint: 'refresh_token' }));
      await expectAccessDenied(tokens.access_token);
      await expectAccessDenied(refreshed.access_token);
      const refresh = await refreshRequest(t, refreshed.refresh_token!, key);
      expect(refresh.statusCode).toBe(400);
      expect(refresh.json().error).toBe('invalid_grant');
      expect(lastReason(t)).toBe('revoked');
    });

    it('denies a revoked access token, and leaves the grant (its refresh token) alone', async () => {
      expectRevoked(await spa({ token: tokens.access_token, token_type_hint: 'access_token' }));
      await expectAccessDenied(tokens.access_token);
      const refresh = await refreshRequest(t, tokens.refresh_token!, key);
      expect(refresh.statusCode).toBe(200);
      expect((await introspect(t, refresh.json().access_token)).active).toBe(true);
    });

    it('revokes without a hint, whichever the type', async () => {
      expectRevoked(await spa({ token: tokens.access_token }));
      await expectAccessDenied(tokens.access_token);
      const other = await spaTokens(t, key);
      expectRevoked(await spa({ token: other.refresh_token! }));
      await expectAccessDenied(other.access_token);
    });

    it('finds a refresh token sent with token_type_hint=access_token (§2.1: the search extends)', async () => {
      expectRevoked(await spa({ token: tokens.refresh_token!, token_type_hint: 'access_token' }));
      await expectAccessDenied(tokens.access_token);
      expect((await refreshRequest(t, tokens.refresh_token!, key)).json().error).toBe('invalid_grant');
      expect(lastReason(t)).toBe('revoked');
    });

    it('finds an access token sent with token_type_hint=refresh_token', async () => {
      expectRevoked(await spa({ token: tokens.access_token, token_type_hint: 'refresh_token' }));
      await expectAccessDenied(tokens.access_token);
    });

    it('ignores a token_type_hint value it does not know and still revokes (§2.2: "ignored ... does not influence the response")', async () => {
      expectRevoked(await spa({ token: tokens.access_token, token_type_hint: 'id_token' }));
      await expectAccessDenied(tokens.access_token);
    });

    it('revokes a confidential client token, with client_secret_basic', async () => {
      const code = await webCode(new Browser(t.app));
      const web = (await webTokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: webRedirect })).json() as UserTokens;
      expectRevoked(await revokeRequest(t, { token: web.refresh_token! }, { authorization: basicAuth(webClient.id, webClient.secret) }));
      expect(await introspect(t, web.access_token)).toEqual({ active: false });
      const refresh = await webTokenRequest(t, { grant_type: 'refresh_token', refresh_token: web.refresh_token! });
      expect(refresh.json().error).toBe('invalid_grant');
      expect(lastReason(t)).toBe('revoked');
    });
  });

  describe('answers that reveal nothing (§2.2)', () => {
    it.each([
      ['an unknown opaque token', 'A'.repeat(43)],
      ['garbage', 'not a token'],
      ['a JWT signed by someone else', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.' + 'A'.repeat(86)],
    ])('answers 200 for %s', async (_name, token) => {
      expectRevoked(await spa({ token }));
    });

    it('answers 200 for a token already revoked', async () => {
      expectRevoked(await spa({ token: tokens.refresh_token! }));
      expectRevoked(await spa({ token: tokens.refresh_token! }));
      expectRevoked(await spa({ token: tokens.access_token }));
    });
  });

  describe('refusals', () => {
    it("refuses a client revoking another client's token with unauthorized_client, and the token stays valid (§2.1)", async () => {
      const web = { authorization: basicAuth(webClient.id, webClient.secret) };
      expectRevocationError(t, await revokeRequest(t, { token: tokens.refresh_token! }, web), 'unauthorized_client', 'token_owner');
      expectRevocationError(t, await revokeRequest(t, { token: tokens.access_token }, web), 'unauthorized_client', 'token_owner');
      expectRevocationError(
        t,
        await revokeRequest(t, { client_id: 'first-party-spa', token: tokens.access_token }),
        'unauthorized_client',
        'token_owner',
      );
      expect((await introspect(t, tokens.access_token)).active).toBe(true);
      expect((await refreshRequest(t, tokens.refresh_token!, key)).statusCode).toBe(200);
    });

    it('refuses a missing token with invalid_request', async () => {
      expectRevocationError(t, await spa({}), 'invalid_request', 'token');
    });

    it('refuses a wrong client secret with 401 invalid_client and a Basic challenge', async () => {
      const response = await revokeRequest(t, { token: tokens.access_token }, { authorization: basicAuth(webClient.id, 'wrong-secret') });
      expectRevocationError(t, response, 'invalid_client', 'client_auth', 401);
      expect(response.headers['www-authenticate']).toBe(`Basic realm="${issuer}"`);
    });

    it('refuses an unknown client with 401 invalid_client', async () => {
      expectRevocationError(
        t,
        await revokeRequest(t, { client_id: 'nobody', token: tokens.access_token }),
        'invalid_client',
        'client_auth',
        401,
      );
    });

    it('refuses a request without any client identification with 401 invalid_client', async () => {
      expectRevocationError(t, await revokeRequest(t, { token: tokens.access_token }), 'invalid_client', 'client_auth', 401);
      expect((await introspect(t, tokens.access_token)).active).toBe(true);
    });

    it('refuses a confidential client that sends no secret with 401 invalid_client', async () => {
      expectRevocationError(
        t,
        await revokeRequest(t, { client_id: serviceClient.id, token: tokens.access_token }),
        'invalid_client',
        'client_auth',
        401,
      );
    });

    it('refuses a repeated token parameter with invalid_request (RFC 6749 §3.2)', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/oidc/revoke',
        headers: form,
        payload: `client_id=spa&token=${tokens.access_token}&token=${tokens.refresh_token}`,
      });
      expectRevocationError(t, response, 'invalid_request', 'schema');
      expect((await introspect(t, tokens.access_token)).active).toBe(true);
    });

    it('refuses a body that is not form-encoded with invalid_request (§2.1)', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/oidc/revoke',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ client_id: 'spa', token: tokens.access_token }),
      });
      expectRevocationError(t, response, 'invalid_request', 'content_type');
      expect((await introspect(t, tokens.access_token)).active).toBe(true);
    });
  });
});

describe('POST /oidc/revoke never answers 200 without revoking (fails closed)', () => {
  /** In-memory stores whose denylist port fails (reads, or writes made through it) once `fail()` is called. */
  async function storesWithFailingDenylist(part: 'isRevoked' | 'revoke'): Promise<{ stores: Stores; fail: () => void }> {
    const stores = await createStores(parseConfig({}).store, { replayCacheMaxEntries: 1000 }, testClock());
    const revoked = stores.revoked;
    let failing = false;
    const guard = () => {
      if (failing) throw new StoreUnavailableError('revocation list: timeout');
    };
    stores.revoked = {
      isRevoked: async (jti) => {
        if (part === 'isRevoked') guard();
        return revoked.isRevoked(jti);
      },
      revoke: async (jti, expiresAtMs) => {
        if (part === 'revoke') guard();
        return revoked.revoke(jti, expiresAtMs);
      },
    };
    return { stores, fail: () => (failing = true) };
  }

  it('answers 503 temporarily_unavailable when the denylist cannot be read, instead of taking the token for unknown', async () => {
    const { stores, fail } = await storesWithFailingDenylist('isRevoked');
    const t = await makeTestApp({}, { stores });
    try {
      const key = await makeProofKey();
      const tokens = await spaTokens(t, key);
      fail();
      for (const hint of ['access_token', 'refresh_token', undefined]) {
        const response = await revokeRequest(t, {
          client_id: 'spa',
          token: tokens.access_token,
          ...(hint ? { token_type_hint: hint } : {}),
        });
        expect(response.statusCode).toBe(503);
        expect(response.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'try again later' });
        expect(response.headers['cache-control']).toBe('no-store');
      }
      expect(t.logs()).toContain('"store":"revocation list: timeout"');
    } finally {
      await t.app.close();
    }
  });

  it('revokes a grant and denies its access tokens in one store step: no separate denylist write can fail in between', async () => {
    const { stores, fail } = await storesWithFailingDenylist('revoke');
    const t = await makeTestApp({}, { stores });
    try {
      const key = await makeProofKey();
      const tokens = await spaTokens(t, key);
      fail();
      expectRevoked(await revokeRequest(t, { client_id: 'spa', token: tokens.refresh_token! }));
      expect(await introspect(t, tokens.access_token)).toEqual({ active: false });
      expect((await refreshRequest(t, tokens.refresh_token!, key)).json().error).toBe('invalid_grant');
      expect(lastReason(t)).toBe('revoked');
    } finally {
      await t.app.close();
    }
  });
});
