import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryRevokedTokens } from '../../src/stores/memory/revoked-tokens.js';
import { issueAccessToken } from '../../src/tokens/access-token.js';
import { generateSigningJwks, KeyRing, signingKeysFromJwks, type SigningKeys } from '../../src/tokens/keys.js';
import { VerifiedTokenCache } from '../../src/tokens/verified-token-cache.js';
import { testClock } from '../helpers/app.js';

/** Introspection's cache of verified access tokens: kept until exp, the denylist asked every time. */

const issuer = 'https://op.example.test/oidc';
let first: SigningKeys;
let second: SigningKeys;
beforeAll(async () => {
  [first, second] = await Promise.all([
    signingKeysFromJwks(await generateSigningJwks('ES256')),
    signingKeysFromJwks(await generateSigningJwks('ES256')),
  ]);
});

function fixture(maxEntries?: number) {
  const clock = testClock();
  const ring = new KeyRing(first);
  let verifications = 0;
  // Every signature verification reads the allowed algorithms; an answer from the cache does not.
  const keys: SigningKeys = {
    get current() {
      return ring.current;
    },
    get byKid() {
      return ring.byKid;
    },
    get algorithms() {
      verifications++;
      return ring.algorithms;
    },
    get publicJwks() {
      return ring.publicJwks;
    },
  };
  const revoked = new MemoryRevokedTokens(100, clock);
  const cache = new VerifiedTokenCache({ keys, issuer, clock, revoked }, maxEntries);
  const issue = async (jti = 'unused') =>
    issueAccessToken(
      { subject: `alice-${jti}`, clientId: 'c', scope: 'api:read' },
      { keys: ring, settings: { issuer, audience: issuer, ttlSeconds: 600 }, clock },
    ).token;
  return { clock, ring, revoked, cache, issue, verifications: () => verifications };
}

describe('VerifiedTokenCache', () => {
  it('verifies a token once and answers its claims from the cache after', async () => {
    const t = fixture();
    const token = await t.issue();
    const claims = await t.cache.verify(token);
    expect(await t.cache.verify(token)).toEqual(claims);
    expect(await t.cache.verify(token)).toEqual(claims);
    expect(t.verifications()).toBe(1);
  });

  it('refuses a cached token as soon as it is revoked', async () => {
    const t = fixture();
    const token = await t.issue();
    const { jti, exp } = await t.cache.verify(token);
    await t.revoked.revoke(jti, exp * 1000);
    await expect(t.cache.verify(token)).rejects.toMatchObject({ code: 'invalid_token', reason: 'revoked' });
  });

  it('refuses a cached token once it has expired', async () => {
    const t = fixture();
    const token = await t.issue();
    await t.cache.verify(token);
    t.clock.advance(600_000);
    await expect(t.cache.verify(token)).rejects.toMatchObject({ code: 'invalid_token', reason: 'expired' });
  });

  it('verifies again after the key set is reloaded, and refuses the tokens of a retired key', async () => {
    const t = fixture();
    const token = await t.issue();
    await t.cache.verify(token);
    t.ring.replace(second);
    await expect(t.cache.verify(token)).rejects.toMatchObject({ code: 'invalid_token', reason: 'invalid' });
    expect(t.verifications()).toBe(2);
  });

  it('never caches a refused token', async () => {
    const t = fixture();
    const [header, payload] = (await t.issue()).split('.');
    const forged = `${header}.${payload}.${'A'.repeat(86)}`;
    await expect(t.cache.verify(forged)).rejects.toMatchObject({ reason: 'invalid' });
    await expect(t.cache.verify(forged)).rejects.toMatchObject({ reason: 'invalid' });
    expect(t.cache.size).toBe(0);
  });

  it('holds at most maxEntries tokens, dropping the oldest', async () => {
    const t = fixture(2);
    const tokens = [await t.issue('a'), await t.issue('b'), await t.issue('c')];
    for (const token of tokens) await t.cache.verify(token);
    expect(t.cache.size).toBe(2);
    await t.cache.verify(tokens[0]!);
    expect(t.verifications()).toBe(4);
    await t.cache.verify(tokens[2]!);
    expect(t.verifications()).toBe(4);
  });
});
