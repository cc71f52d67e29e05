import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createStores } from '../../src/stores/create-stores.js';
import { issuer, makeTestApp, storesFailingOnce, spaRedirect, testClock, webClient, webRedirect, type TestApp } from '../helpers/app.js';
import { Browser, pkcePair } from '../helpers/browser.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { introspect, profileRequest, refreshRequest, webCode, webTokenRequest, type UserTokens } from '../helpers/endpoints.js';
import { codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';
import { lastReason } from '../helpers/protocol.js';

/** A refusal with its error code and, from the log line, its reason: it cannot pass for another failure. */
function expectTokenError(t: TestApp, response: LightMyRequestResponse, error: string, reason: string, status = 400): void {
  expect(response.statusCode).toBe(status);
  expect(response.json().error).toBe(error);
  expect(lastReason(t)).toBe(reason);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers.pragma).toBe('no-cache');
}

function expectTokens(response: LightMyRequestResponse): UserTokens {
  expect(response.statusCode).toBe(200);
  return response.json();
}

describe('POST /oidc/token, grant_type=authorization_code refusals (RFC 6749 §4.1.3, RFC 7636, RFC 9449 §10)', () => {
  let t: TestApp;
  let key: ProofKey;
  let otherKey: ProofKey;
  beforeEach(async () => {
    t = await makeTestApp();
    [key, otherKey] = await Promise.all([makeProofKey(), makeProofKey()]);
  });
  afterEach(() => t.app.close());

  /** A code for `spa` bound to `key` by dpop_jkt. */
  const spaCode = () => signInAndConsent(new Browser(t.app), { dpopJkt: key.jkt });

  describe('a refused redemption does not burn the code', () => {
    it('refuses a wrong code_verifier with invalid_grant; the right one then succeeds (RFC 7636 §4.6)', async () => {
      const { code, verifier } = await spaCode();
      expectTokenError(t, await tokenRequest(t, codeExchange(code, pkcePair().verifier), key), 'invalid_grant', 'pkce');
      expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    });

    it('refuses a missing code_verifier when a code_challenge was sent (RFC 9700 §4.8)', async () => {
      const { code, verifier } = await spaCode();
      const { code_verifier: _omitted, ...withoutVerifier } = codeExchange(code, verifier);
      expectTokenError(t, await tokenRequest(t, withoutVerifier, key), 'invalid_grant', 'pkce');
      expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    });

    it('refuses a code_verifier of the wrong syntax (RFC 7636 §4.1)', async () => {
      const { code, verifier } = await spaCode();
      expectTokenError(t, await tokenRequest(t, codeExchange(code, verifier.slice(0, 42)), key), 'invalid_grant', 'pkce');
      expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    });

    it('refuses a proof by another key than dpop_jkt with invalid_grant (RFC 9449 §10)', async () => {
      const { code, verifier } = await spaCode();
      expectTokenError(t, await tokenRequest(t, codeExchange(code, verifier), otherKey), 'invalid_grant', 'dpop_jkt');
      const tokens = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
      expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: key.jkt });
    });

    it('refuses an invalid proof (wrong htu) with invalid_dpop_proof (RFC 9449 §4.3)', async () => {
      const { code, verifier } = await spaCode();
      const badProof = await makeProof(key, { htu: `${issuer}/profile`, iat: t.clock() / 1000 });
      expectTokenError(t, await tokenRequest(t, codeExchange(code, verifier), undefined, { dpop: badProof }), 'invalid_dpop_proof', 'htu');
      expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    });

    it('refuses a request without a proof when dpop_jkt was sent, with invalid_dpop_proof (RFC 9449 §10)', async () => {
      const { code, verifier } = await spaCode();
      expectTokenError(t, await tokenRequest(t, codeExchange(code, verifier)), 'invalid_dpop_proof', 'missing');
      expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    });

    it('refuses a redirect_uri other than the authorization request one with invalid_grant (RFC 6749 §4.1.3)', async () => {
      const { code, verifier } = await spaCode();
      expectTokenError(
        t,
        await tokenRequest(t, codeExchange(code, verifier, 'spa', `${spaRedirect}/other`), key),
        'invalid_grant',
        'redirect_uri',
      );
      expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    });

    it('refuses a missing redirect_uri with invalid_grant (RFC 6749 §4.1.3: required when it was sent)', async () => {
      const { code, verifier } = await spaCode();
      const { redirect_uri: _omitted, ...withoutRedirect } = codeExchange(code, verifier);
      expectTokenError(t, await tokenRequest(t, withoutRedirect, key), 'invalid_grant', 'redirect_uri');
      expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    });

    it('refuses a code redeemed by another client with invalid_grant (RFC 6749 §4.1.3)', async () => {
      const { code, verifier } = await spaCode();
      expectTokenError(
        t,
        await tokenRequest(t, codeExchange(code, verifier, 'first-party-spa', spaRedirect), key),
        'invalid_grant',
        'code',
      );
      expectTokenError(
        t,
        await webTokenRequest(t, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: spaRedirect }, key),
        'invalid_grant',
        'code',
      );
      const tokens = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
      expect(decodeJwt(tokens.access_token).client_id).toBe('spa');
    });
  });

  describe('codes that cannot be redeemed', () => {
    it('refuses an unknown code with invalid_grant', async () => {
      expectTokenError(t, await tokenRequest(t, codeExchange('A'.repeat(43), pkcePair().verifier), key), 'invalid_grant', 'code');
    });

    it('refuses a missing code with invalid_request', async () => {
      const { code: _omitted, ...withoutCode } = codeExchange('x', pkcePair().verifier);
      expectTokenError(t, await tokenRequest(t, withoutCode, key), 'invalid_request', 'code');
    });

    it('refuses a code after it expired (60 s) with invalid_grant', async () => {
      const { code, verifier } = await spaCode();
      t.clock.advance(61_000);
      expectTokenError(t, await tokenRequest(t, codeExchange(code, verifier), key), 'invalid_grant', 'code');
    });

    it('accepts a code just before it expires', async () => {
      const { code, verifier } = await spaCode();
      t.clock.advance(59_000);
      expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    });

    it('refuses a second use with invalid_grant and revokes what the first use issued (RFC 6749 §4.1.2)', async () => {
      const { code, verifier } = await spaCode();
      const tokens = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
      expect((await introspect(t, tokens.access_token)).active).toBe(true);

      // By another key: the holder's own retry within the grace is answered (tested below).
      expectTokenError(t, await tokenRequest(t, codeExchange(code, verifier), otherKey), 'invalid_grant', 'code_reuse');
      expect(await introspect(t, tokens.access_token)).toEqual({ active: false });
      const profile = await profileRequest(t, tokens.access_token, key);
      expect(profile.statusCode).toBe(401);
      expect(profile.headers['www-authenticate']).toContain('error="invalid_token"');
      expectTokenError(t, await refreshRequest(t, tokens.refresh_token!, key), 'invalid_grant', 'revoked');
      // And it stays refused.
      expectTokenError(t, await tokenRequest(t, codeExchange(code, verifier), key), 'invalid_grant', 'revoked');
    });

    it('revokes the grant on a second use also after the first use refreshed (its newest tokens too)', async () => {
      const { code, verifier } = await spaCode();
      const first = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
      const refreshed = expectTokens(await refreshRequest(t, first.refresh_token!, key));
      expectTokenError(t, await tokenRequest(t, codeExchange(code, verifier), key), 'invalid_grant', 'code_reuse');
      expect(await introspect(t, refreshed.access_token)).toEqual({ active: false });
      expectTokenError(t, await refreshRequest(t, refreshed.refresh_token!, key), 'invalid_grant', 'revoked');
    });
  });

  describe('PKCE downgrade for a confidential client that may omit PKCE (RFC 9700 §4.8)', () => {
    const exchange = (code: string, extra: Record<string, string> = {}) =>
      webTokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: webRedirect, ...extra });

    it('redeems a code of a request without code_challenge when no code_verifier is sent', async () => {
      const tokens = expectTokens(await exchange(await webCode(new Browser(t.app))));
      expect(tokens.token_type).toBe('Bearer');
      expect(decodeJwt(tokens.access_token).client_id).toBe(webClient.id);
    });

    it('refuses a code_verifier when no code_challenge was sent, without burning the code', async () => {
      const code = await webCode(new Browser(t.app));
      expectTokenError(t, await exchange(code, { code_verifier: pkcePair().verifier }), 'invalid_grant', 'pkce');
      expectTokens(await exchange(code));
    });

    it('refuses a missing code_verifier when the confidential client did send a code_challenge', async () => {
      const { verifier, challenge } = pkcePair();
      const code = await webCode(new Browser(t.app), challenge);
      expectTokenError(t, await exchange(code), 'invalid_grant', 'pkce');
      expectTokens(await exchange(code, { code_verifier: verifier }));
    });

    it('refuses the code to the confidential client without its client authentication', async () => {
      const code = await webCode(new Browser(t.app));
      const response = await tokenRequest(t, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: webRedirect,
        client_id: webClient.id,
      });
      expectTokenError(t, response, 'invalid_client', 'client_auth', 401);
      expectTokens(await exchange(code));
    });
  });

  describe('what the tokens contain follows the granted scope', () => {
    it('issues no refresh_token without offline_access (OIDC Core §11)', async () => {
      const { code, verifier } = await signInAndConsent(new Browser(t.app), { scope: 'openid profile', dpopJkt: key.jkt });
      const tokens = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
      expect(tokens.scope).toBe('openid profile');
      expect(tokens.refresh_token).toBeUndefined();
      expect(tokens.id_token).toEqual(expect.any(String));
    });

    it('issues no id_token without openid (OIDC Core §3.1.2.1)', async () => {
      const { code, verifier } = await signInAndConsent(new Browser(t.app), { scope: 'profile offline_access', dpopJkt: key.jkt });
      const tokens = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
      expect(tokens.scope).toBe('profile offline_access');
      expect(tokens.id_token).toBeUndefined();
      expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('issues a Bearer access token to a public client that sent no dpop_jkt and no proof', async () => {
      const { code, verifier } = await signInAndConsent(new Browser(t.app), { scope: 'openid' });
      const tokens = expectTokens(await tokenRequest(t, codeExchange(code, verifier)));
      expect(tokens.token_type).toBe('Bearer');
      expect(decodeJwt(tokens.access_token).cnf).toBeUndefined();
    });
  });
});

describe('a code redeemed twice at once (RFC 6749 §4.1.2: the second use revokes what the first issued)', () => {
  it('revokes the grant when the second redemption is seen before the first has finished issuing', async () => {
    // Two instances redeeming one code: the second sees the code used (and revokes the grant)
    // between the first one's consume and the rest of its issuing. Simulated with one app whose
    // code store runs the second redemption right after the first consume.
    const stores = await createStores(parseConfig({}).store, { replayCacheMaxEntries: 1000 }, testClock());
    const codes = stores.codes;
    let second: Promise<LightMyRequestResponse> | undefined;
    let race: (() => Promise<LightMyRequestResponse>) | undefined;
    stores.codes = {
      save: (hash, record, ttlMs) => codes.save(hash, record, ttlMs),
      peek: (hash) => codes.peek(hash),
      consume: async (hash, redemption) => {
        const result = await codes.consume(hash, redemption);
        if (race) {
          const run = race;
          race = undefined;
          second = run();
          await second;
        }
        return result;
      },
    };
    // With the retry grace off, the same key's second redemption is reuse like any other.
    const t = await makeTestApp({ refreshToken: { reuseGraceSeconds: 0 } }, { stores });
    const key = await makeProofKey();
    try {
      const { code, verifier } = await signInAndConsent(new Browser(t.app), { dpopJkt: key.jkt });
      race = () => tokenRequest(t, codeExchange(code, verifier), key);
      const first = await tokenRequest(t, codeExchange(code, verifier), key);
      expectTokenError(t, (await second)!, 'invalid_grant', 'code_reuse');
      // Whatever the first redemption hands out dies with the grant the second one revoked.
      if (first.statusCode === 200) {
        const tokens: UserTokens = first.json();
        expect(await introspect(t, tokens.access_token)).toEqual({ active: false });
        expectTokenError(t, await refreshRequest(t, tokens.refresh_token!, key), 'invalid_grant', 'revoked');
      } else {
        expectTokenError(t, first, 'invalid_grant', 'code_reuse');
      }
    } finally {
      await t.app.close();
    }
  });
});

describe('a code exchange that fails after its checks (a store error, 503) does not burn the code', () => {
  it('lets the client redeem the same code again, without taking the retry for reuse', async () => {
    const { stores, failNext } = await storesFailingOnce();
    const t = await makeTestApp({}, { stores });
    try {
      const key = await makeProofKey();
      const { code, verifier } = await signInAndConsent(new Browser(t.app), { dpopJkt: key.jkt });
      failNext();
      const failed = await tokenRequest(t, codeExchange(code, verifier), key);
      expect(failed.statusCode).toBe(503);
      expect(failed.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'try again later' });

      const tokens = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
      expect((await introspect(t, tokens.access_token)).active).toBe(true);
      expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    } finally {
      await t.app.close();
    }
  });
});
