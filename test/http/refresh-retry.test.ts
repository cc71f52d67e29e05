import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestApp, webRedirect, type TestApp } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import {
  expectTokens,
  introspect,
  refreshRequest,
  revokeRequest,
  spaTokens,
  type UserTokens,
  webCode,
  webTokenRequest,
} from '../helpers/endpoints.js';
import { lastReason } from '../helpers/protocol.js';
import { codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';

function expectReuse(t: TestApp, response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(400);
  expect(response.json()).toEqual({ error: 'invalid_grant', error_description: 'refresh token was already used; the grant is revoked' });
  expect(lastReason(t)).toBe('refresh_reuse');
}

async function expectGrantRevoked(t: TestApp, key: ProofKey, tokens: UserTokens[]): Promise<void> {
  for (const token of tokens) expect(await introspect(t, token.access_token)).toEqual({ active: false });
  const refresh = await refreshRequest(t, tokens.at(-1)!.refresh_token!, key);
  expect(refresh.statusCode).toBe(400);
  expect(refresh.json().error).toBe('invalid_grant');
}

describe("the holder's retry of a just-rotated refresh token (refreshToken.reuseGraceSeconds, RFC 9700 §4.14)", () => {
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

  it('answers a retry by the same DPoP key, before the successor is used, with a new access token and the same successor', async () => {
    const first = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    t.clock.advance(30_000);
    const retried = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    expect(retried.refresh_token).toBe(first.refresh_token);
    expect(retried.access_token).not.toBe(first.access_token);
    expect(retried.token_type).toBe('DPoP');
    expect(decodeJwt(retried.access_token).cnf).toEqual({ jkt: key.jkt });
    expect(retried.id_token).toEqual(expect.any(String));
    expect((await introspect(t, first.access_token)).active).toBe(true);
    expect((await introspect(t, retried.access_token)).active).toBe(true);
    // The successor works, once, as usual.
    const next = expectTokens(await refreshRequest(t, first.refresh_token!, key));
    expect(next.refresh_token).not.toBe(first.refresh_token);
  });

  it('answers several retries alike, and narrows the scope of a retry as asked', async () => {
    const first = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    const again = expectTokens(await refreshRequest(t, tokens.refresh_token!, key, { scope: 'openid profile' }));
    expect(again.scope).toBe('openid profile');
    expect(again.refresh_token).toBe(first.refresh_token);
    expect(expectTokens(await refreshRequest(t, tokens.refresh_token!, key)).refresh_token).toBe(first.refresh_token);
  });

  it('gives two concurrent refreshes with one token (two tabs, a double submit) both an answer, with the same successor', async () => {
    const [a, b] = (await Promise.all([refreshRequest(t, tokens.refresh_token!, key), refreshRequest(t, tokens.refresh_token!, key)])).map(
      expectTokens,
    );
    expect(a!.refresh_token).toBe(b!.refresh_token);
    expect((await introspect(t, a!.access_token)).active).toBe(true);
    expect((await introspect(t, b!.access_token)).active).toBe(true);
    expectTokens(await refreshRequest(t, a!.refresh_token!, key));
  });

  it('takes a retry by another DPoP key for reuse, and revokes the grant', async () => {
    const first = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    expectReuse(t, await refreshRequest(t, tokens.refresh_token!, otherKey));
    await expectGrantRevoked(t, key, [tokens, first]);
  });

  it('takes a retry without a proof for reuse, and revokes the grant', async () => {
    const first = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    expectReuse(t, await refreshRequest(t, tokens.refresh_token!));
    await expectGrantRevoked(t, key, [tokens, first]);
  });

  it('takes a retry after the successor was used for reuse, and revokes the grant', async () => {
    const first = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    const second = expectTokens(await refreshRequest(t, first.refresh_token!, key));
    expectReuse(t, await refreshRequest(t, tokens.refresh_token!, key));
    await expectGrantRevoked(t, key, [tokens, first, second]);
  });

  it('takes a retry after the grace (60 s) for reuse, and revokes the grant', async () => {
    const first = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    t.clock.advance(60_000);
    expectReuse(t, await refreshRequest(t, tokens.refresh_token!, key));
    await expectGrantRevoked(t, key, [tokens, first]);
  });

  it('recognises a token two or more generations old as reuse (its family id), without a record per retired token', async () => {
    const first = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    const second = expectTokens(await refreshRequest(t, first.refresh_token!, key));
    const third = expectTokens(await refreshRequest(t, second.refresh_token!, key));
    t.clock.advance(3_600_000);
    expectReuse(t, await refreshRequest(t, tokens.refresh_token!, key));
    await expectGrantRevoked(t, key, [first, second, third]);
  });

  it('gives no grace to a public client without DPoP: nothing tells its retry from a thief', async () => {
    const { code, verifier } = await signInAndConsent(new Browser(t.app));
    const bearer = expectTokens(await tokenRequest(t, codeExchange(code, verifier)));
    const next = expectTokens(await refreshRequest(t, bearer.refresh_token!));
    expect(next.token_type).toBe('Bearer');
    expectReuse(t, await refreshRequest(t, bearer.refresh_token!));
    expect(await introspect(t, next.access_token)).toEqual({ active: false });
  });

  it('answers the retry of a token bound at that refresh (unbound before) only with the proof key that bound it', async () => {
    const { code, verifier } = await signInAndConsent(new Browser(t.app));
    const bearer = expectTokens(await tokenRequest(t, codeExchange(code, verifier)));
    const bound = expectTokens(await refreshRequest(t, bearer.refresh_token!, key));
    expect(expectTokens(await refreshRequest(t, bearer.refresh_token!, key)).refresh_token).toBe(bound.refresh_token);
    expectReuse(t, await refreshRequest(t, bearer.refresh_token!, otherKey));
    expect(await introspect(t, bound.access_token)).toEqual({ active: false });
  });

  it('revokes the grant from a retired token at the revocation endpoint too (RFC 7009 §2.1)', async () => {
    const first = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
    const response = await revokeRequest(t, { client_id: 'spa', token: tokens.refresh_token! });
    expect(response.statusCode).toBe(200);
    await expectGrantRevoked(t, key, [tokens, first]);
  });
});

describe("the confidential client's retry (the same authenticated client)", () => {
  it('answers a retry within the grace with the same successor, and takes one after it for reuse', async () => {
    const t = await makeTestApp();
    try {
      const code = await webCode(new Browser(t.app));
      const tokens = expectTokens(await webTokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: webRedirect }));
      const refresh = (token: string, key?: ProofKey) => webTokenRequest(t, { grant_type: 'refresh_token', refresh_token: token }, key);
      const first = expectTokens(await refresh(tokens.refresh_token!));
      // Its refresh tokens are not bound to a key (RFC 9449 §5): any proof, or none, is its own.
      const retried = expectTokens(await refresh(tokens.refresh_token!, await makeProofKey()));
      expect(retried.refresh_token).toBe(first.refresh_token);
      t.clock.advance(61_000);
      expectReuse(t, await refresh(tokens.refresh_token!));
      expect(await introspect(t, first.access_token)).toEqual({ active: false });
    } finally {
      await t.app.close();
    }
  });
});

describe('with refreshToken.reuseGraceSeconds 0', () => {
  it('takes every second use for reuse, as strict rotation does', async () => {
    const t = await makeTestApp({ refreshToken: { reuseGraceSeconds: 0 } });
    try {
      const key = await makeProofKey();
      const tokens = await spaTokens(t, key);
      const first = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
      expectReuse(t, await refreshRequest(t, tokens.refresh_token!, key));
      expect(await introspect(t, first.access_token)).toEqual({ active: false });
    } finally {
      await t.app.close();
    }
  });
});

describe('one user refreshing in a loop (bounded state per grant)', () => {
  it('keeps one refresh record per grant: a loop of refreshes does not fill the store other users need', async () => {
    // 100 entries per store: before, every retired token stayed for 14 days and this loop hit 503.
    const t = await makeTestApp({ store: { memoryMaxEntries: 100 } });
    try {
      const key = await makeProofKey();
      let tokens = await spaTokens(t, key);
      for (let round = 0; round < 150; round++) {
        // Ten seconds apart, so the access tokens the loop makes expire as they would.
        t.clock.advance(10_000);
        tokens = expectTokens(await refreshRequest(t, tokens.refresh_token!, key));
      }
      // Another user (here: another sign-in) still gets a grant and a refresh token.
      const other = await spaTokens(t, await makeProofKey());
      expect(other.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    } finally {
      await t.app.close();
    }
  });

  it('keeps at most 32 live access tokens per grant: the oldest is denied, the newest work, all die with the grant', async () => {
    const t = await makeTestApp();
    try {
      const key = await makeProofKey();
      const issued = [await spaTokens(t, key)];
      for (let round = 0; round < 33; round++) issued.push(expectTokens(await refreshRequest(t, issued.at(-1)!.refresh_token!, key)));
      // 34 issued: the two oldest are denied, the 32 newest are live.
      expect(await introspect(t, issued[0]!.access_token)).toEqual({ active: false });
      expect(await introspect(t, issued[1]!.access_token)).toEqual({ active: false });
      for (const tokens of issued.slice(2)) expect((await introspect(t, tokens.access_token)).active).toBe(true);

      expect((await revokeRequest(t, { client_id: 'spa', token: issued.at(-1)!.refresh_token! })).statusCode).toBe(200);
      for (const tokens of issued) expect(await introspect(t, tokens.access_token)).toEqual({ active: false });
    } finally {
      await t.app.close();
    }
  });

  it('bounds the list by refreshToken.maxLiveAccessTokensPerGrant', async () => {
    const t = await makeTestApp({ refreshToken: { maxLiveAccessTokensPerGrant: 2 } });
    try {
      const key = await makeProofKey();
      const first = await spaTokens(t, key);
      const second = expectTokens(await refreshRequest(t, first.refresh_token!, key));
      expect((await introspect(t, first.access_token)).active).toBe(true);
      const third = expectTokens(await refreshRequest(t, second.refresh_token!, key));
      expect(await introspect(t, first.access_token)).toEqual({ active: false });
      expect((await introspect(t, second.access_token)).active).toBe(true);
      expect((await introspect(t, third.access_token)).active).toBe(true);
    } finally {
      await t.app.close();
    }
  });
});
