import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createStores } from '../../src/stores/create-stores.js';
import type { MemoryReplayCache } from '../../src/stores/memory/replay-cache.js';
import { basicAuth, form, issuer, makeTestApp, serviceClient, testClock, type TestApp } from '../helpers/app.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { refreshRequest, spaTokens } from '../helpers/endpoints.js';
import { codeExchange, tokenRequest } from '../helpers/flow.js';

/**
 * The replay cache every client shares is bounded per credential (RFC 9449 §11.1): a holder of a
 * valid credential that proves too much is told to slow down, and nothing an unauthenticated
 * caller can send is recorded in it.
 */

function clientCredentials(t: TestApp, clientId: string, key: ProofKey): Promise<LightMyRequestResponse> {
  return makeProof(key, { htu: `${issuer}/token`, iat: t.clock() / 1000 }).then((dpop) =>
    t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { ...form, authorization: basicAuth(clientId, serviceClient.secret), dpop },
      payload: 'grant_type=client_credentials',
    }),
  );
}

function expectReplayQuota(t: TestApp, response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(429);
  expect(response.json().error).toBe('temporarily_unavailable');
  // A proof lives maxAgeSeconds (60): by then the credential's oldest entries have gone.
  expect(response.headers['retry-after']).toBe('60');
  expect(response.headers['cache-control']).toBe('no-store');
  expect(t.logs()).toContain('"error":"temporarily_unavailable","reason":"replay_quota"');
}

describe('one credential cannot fill the replay cache (dpop.replayCacheMaxEntriesPerOwner)', () => {
  let t: TestApp;
  afterEach(() => t.app.close());

  it("answers 429 replay_quota to a public client's grant past its bound, and other clients' DPoP requests still pass", async () => {
    t = await makeTestApp({ dpop: { replayCacheMaxEntriesPerOwner: 3 } });
    const key = await makeProofKey();
    // The code exchange and two refreshes: three proofs charged to the grant.
    const tokens = await spaTokens(t, key);
    let refreshToken = tokens.refresh_token!;
    for (let index = 0; index < 2; index++) {
      const refreshed = await refreshRequest(t, refreshToken, key);
      expect(refreshed.statusCode).toBe(200);
      refreshToken = refreshed.json().refresh_token;
    }
    expectReplayQuota(t, await refreshRequest(t, refreshToken, key));

    // Another grant of the same public client, and a confidential client, are not charged for it.
    const otherKey = await makeProofKey();
    expect((await spaTokens(t, otherKey)).token_type).toBe('DPoP');
    const service = await clientCredentials(t, serviceClient.id, await makeProofKey());
    expect(service.statusCode).toBe(200);
    expect(service.json().token_type).toBe('DPoP');

    // The refused refresh consumed nothing: once the grant's proofs have aged out, the same token works.
    t.clock.advance(62_000);
    expect((await refreshRequest(t, refreshToken, key)).statusCode).toBe(200);
  });

  it('answers 429 replay_quota to a confidential client past its bound, and another client still gets tokens', async () => {
    t = await makeTestApp({ dpop: { replayCacheMaxEntriesPerOwner: 3 } });
    const key = await makeProofKey();
    for (let index = 0; index < 3; index++) expect((await clientCredentials(t, serviceClient.id, key)).statusCode).toBe(200);
    expectReplayQuota(t, await clientCredentials(t, serviceClient.id, key));
    const other = await clientCredentials(t, 'bound-client', key);
    expect(other.statusCode).toBe(200);
    expect(other.json().token_type).toBe('DPoP');
  });
});

describe('requests an unauthenticated caller can make claim nothing in the replay cache', () => {
  let t: TestApp;
  afterEach(() => t.app.close());

  it('a flood of authorization_code requests with bogus codes and fresh valid proofs leaves the cache empty, and a real exchange then succeeds', async () => {
    const clock = testClock();
    // A small cache, so that the flood would fill it if its proofs were recorded (as they were before).
    const stores = await createStores(parseConfig({}).store, { replayCacheMaxEntries: 100 }, clock);
    const replayCache = stores.replayCache as MemoryReplayCache;
    let claims = 0;
    stores.replayCache = {
      claim: (key, ttlMs, owner) => {
        claims++;
        return replayCache.claim(key, ttlMs, owner);
      },
    };
    t = await makeTestApp({}, { clock, stores });
    const attacker = await makeProofKey();
    const verifier = 'v'.repeat(43);

    for (let index = 0; index < 120; index++) {
      const response = await tokenRequest(t, codeExchange(`bogus-code-${index}`, verifier), attacker);
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('invalid_grant');
    }
    expect(claims).toBe(0);
    expect(replayCache.size).toBe(0);

    const key = await makeProofKey();
    const legitimate = await spaTokens(t, key);
    expect(legitimate.token_type).toBe('DPoP');
    expect(claims).toBe(1);
    expect(replayCache.size).toBe(1);
  });
});
