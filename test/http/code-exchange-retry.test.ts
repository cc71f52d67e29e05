import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createStores, type Stores } from '../../src/stores/create-stores.js';
import { StoreUnavailableError } from '../../src/stores/ports.js';
import { makeTestApp, testClock, webRedirect, type TestApp } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { expectTokens, introspect, refreshRequest, webCode, webTokenRequest } from '../helpers/endpoints.js';
import { lastReason } from '../helpers/protocol.js';
import { codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';

function expectCodeReuse(t: TestApp, response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(400);
  expect(response.json()).toEqual({ error: 'invalid_grant', error_description: 'authorization code was already used' });
  expect(lastReason(t)).toBe('code_reuse');
}

/**
 * In-memory stores whose code store, when `dropNextAnswer()` was called, consumes the code and
 * then fails: the redemption happened, the client saw 503 (a Redis reply lost to a timeout).
 */
async function storesLosingConsumeAnswer(): Promise<{ stores: Stores; dropNextAnswer: () => void }> {
  const stores = await createStores(parseConfig({}).store, { replayCacheMaxEntries: 1000 }, testClock());
  const codes = stores.codes;
  let drop = false;
  stores.codes = {
    save: (hash, record, ttlMs) => codes.save(hash, record, ttlMs),
    peek: (hash) => codes.peek(hash),
    consume: async (hash, redemption) => {
      const result = await codes.consume(hash, redemption);
      if (drop) {
        drop = false;
        throw new StoreUnavailableError('code store: timeout');
      }
      return result;
    },
  };
  return { stores, dropNextAnswer: () => (drop = true) };
}

describe("the holder's retry of a code exchange (RFC 6749 §4.1.2 reuse, except the redeemer's own retry within the grace)", () => {
  let t: TestApp;
  let key: ProofKey;
  let otherKey: ProofKey;
  let dropNextAnswer: () => void;
  beforeEach(async () => {
    const failing = await storesLosingConsumeAnswer();
    dropNextAnswer = failing.dropNextAnswer;
    t = await makeTestApp({}, { stores: failing.stores });
    [key, otherKey] = await Promise.all([makeProofKey(), makeProofKey()]);
  });
  afterEach(() => t.app.close());

  const spaCode = () => signInAndConsent(new Browser(t.app), { dpopJkt: key.jkt });

  it('answers the retry of a redemption whose answer was lost (503 after the code was consumed) with the same key', async () => {
    const { code, verifier } = await spaCode();
    dropNextAnswer();
    const lost = await tokenRequest(t, codeExchange(code, verifier), key);
    expect(lost.statusCode).toBe(503);
    expect(lost.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'try again later' });

    const retried = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    expect(retried.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(retried.id_token).toEqual(expect.any(String));
    expect((await introspect(t, retried.access_token)).active).toBe(true);
    expectTokens(await refreshRequest(t, retried.refresh_token!, key));
  });

  it('answers a double submit with the same key alike: one refresh token for the grant', async () => {
    const { code, verifier } = await spaCode();
    const first = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    const second = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    expect(second.refresh_token).toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    expect((await introspect(t, first.access_token)).active).toBe(true);
    expect((await introspect(t, second.access_token)).active).toBe(true);
  });

  it('answers two concurrent redemptions with the same key both, with one refresh token', async () => {
    const { code, verifier } = await spaCode();
    const [a, b] = (
      await Promise.all([tokenRequest(t, codeExchange(code, verifier), key), tokenRequest(t, codeExchange(code, verifier), key)])
    ).map(expectTokens);
    expect(a!.refresh_token).toBe(b!.refresh_token);
    expectTokens(await refreshRequest(t, a!.refresh_token!, key));
  });

  it('still checks the retry like a redemption: a wrong code_verifier is refused, without revoking', async () => {
    const { code, verifier } = await spaCode();
    const first = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    const response = await tokenRequest(t, codeExchange(code, 'x'.repeat(43)), key);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_grant');
    expect(lastReason(t)).toBe('pkce');
    expect((await introspect(t, first.access_token)).active).toBe(true);
  });

  it('takes a retry by another key for reuse, also after a lost answer, and revokes the grant', async () => {
    const { code, verifier } = await spaCode();
    dropNextAnswer();
    expect((await tokenRequest(t, codeExchange(code, verifier), key)).statusCode).toBe(503);
    const mine = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    expectCodeReuse(t, await tokenRequest(t, codeExchange(code, verifier), otherKey));
    expect(await introspect(t, mine.access_token)).toEqual({ active: false });
    expect((await refreshRequest(t, mine.refresh_token!, key)).json().error).toBe('invalid_grant');
  });

  it('takes a retry after the refresh token was used for reuse: the first answer did arrive', async () => {
    const { code, verifier } = await spaCode();
    const first = expectTokens(await tokenRequest(t, codeExchange(code, verifier), key));
    const refreshed = expectTokens(await refreshRequest(t, first.refresh_token!, key));
    expectCodeReuse(t, await tokenRequest(t, codeExchange(code, verifier), key));
    expect(await introspect(t, refreshed.access_token)).toEqual({ active: false });
  });

  it('takes a retry after the grace for reuse', async () => {
    const t2 = await makeTestApp({ authorizationCode: { ttlSeconds: 120 } });
    try {
      const { code, verifier } = await signInAndConsent(new Browser(t2.app), { dpopJkt: key.jkt });
      const first = expectTokens(await tokenRequest(t2, codeExchange(code, verifier), key));
      t2.clock.advance(60_000);
      expectCodeReuse(t2, await tokenRequest(t2, codeExchange(code, verifier), key));
      expect(await introspect(t2, first.access_token)).toEqual({ active: false });
    } finally {
      await t2.app.close();
    }
  });

  it('gives no grace to a public client redeeming without DPoP', async () => {
    const { code, verifier } = await signInAndConsent(new Browser(t.app));
    const first = expectTokens(await tokenRequest(t, codeExchange(code, verifier)));
    expectCodeReuse(t, await tokenRequest(t, codeExchange(code, verifier)));
    expect(await introspect(t, first.access_token)).toEqual({ active: false });
  });

  it("answers the confidential client's retry (its authentication is the binding)", async () => {
    const code = await webCode(new Browser(t.app));
    const exchange = () => webTokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: webRedirect });
    dropNextAnswer();
    expect((await exchange()).statusCode).toBe(503);
    const retried = expectTokens(await exchange());
    expect((await introspect(t, retried.access_token)).active).toBe(true);
    expectTokens(await webTokenRequest(t, { grant_type: 'refresh_token', refresh_token: retried.refresh_token! }));
  });
});
