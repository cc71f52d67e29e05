import { beforeAll, describe, expect, it } from 'vitest';
import { accessTokenHash } from '../../src/dpop/thumbprint.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { expectRefusal, resourceUrl, verifierFixture } from '../helpers/dpop-verifier.js';

/** RFC 9449 §4.3 checks 8-12: the proof names this request, now, with the server's nonce and the token's hash. */

let key: ProofKey;
beforeAll(async () => {
  key = await makeProofKey('ES256');
});

describe('htm equals the request method (RFC 9449 §4.3 check 8)', () => {
  it('accepts htm equal to the method', async () => {
    const t = verifierFixture();
    await expect(t.verify(await t.proof(key, { htm: 'GET' }), { method: 'GET' })).resolves.toBeDefined();
  });

  it('refuses a proof made for another method', async () => {
    const t = verifierFixture();
    await expectRefusal(t.verify(await t.proof(key, { htm: 'GET' }), { method: 'POST' }), 'invalid_dpop_proof', 'htm');
  });

  it('refuses htm in another case: methods are case-sensitive (RFC 9110 §9.1)', async () => {
    const t = verifierFixture();
    await expectRefusal(t.verify(await t.proof(key, { htm: 'post' })), 'invalid_dpop_proof', 'htm');
  });
});

describe('htu equals the request URI without query and fragment (RFC 9449 §4.3 check 9)', () => {
  it.each([
    ['another path', 'https://op.example.test/oidc/profile'],
    ['a path differing in case', 'https://op.example.test/oidc/Token'],
    ['another host', 'https://attacker.example/oidc/token'],
    ['another scheme', 'http://op.example.test/oidc/token'],
    ['another port', 'https://op.example.test:8443/oidc/token'],
    ['a trailing slash', 'https://op.example.test/oidc/token/'],
    ['userinfo', 'https://user@op.example.test/oidc/token'],
    ['a value that is not a URL', '/oidc/token'],
    ['a non-http scheme', 'wss://op.example.test/oidc/token'],
  ])('refuses an htu with %s', async (_name, htu) => {
    const t = verifierFixture();
    await expectRefusal(t.verify(await t.proof(key, { htu })), 'invalid_dpop_proof', 'htu');
  });

  it.each([
    ['the exact URI', 'https://op.example.test/oidc/token'],
    ['upper-case scheme and host (RFC 3986 §6.2.2.1)', 'HTTPS://OP.Example.TEST/oidc/token'],
    ['the default port :443 (RFC 3986 §6.2.3)', 'https://op.example.test:443/oidc/token'],
    ['percent-encoded unreserved characters (RFC 3986 §6.2.2.2)', 'https://op.example.test/%6Fidc/%74ok%65n'],
    ['lower-case percent-encoded unreserved characters', 'https://op.example.test/oidc/%74%6f%6b%65%6e'],
    ['dot segments (RFC 3986 §6.2.2.3)', 'https://op.example.test/oidc/./x/../token'],
    ['a query, which is ignored', 'https://op.example.test/oidc/token?client_id=abc'],
    ['a fragment, which is ignored', 'https://op.example.test/oidc/token#frag'],
    ['a query and a fragment', 'https://op.example.test/oidc/token?a=b#c'],
  ])('accepts an htu with %s', async (_name, htu) => {
    const t = verifierFixture();
    await expect(t.verify(await t.proof(key, { htu }))).resolves.toBeDefined();
  });

  it('accepts an http htu with the default port :80 (RFC 3986 §6.2.3)', async () => {
    const t = verifierFixture();
    const proof = await t.proof(key, { htu: 'http://localhost:80/oidc/token' });
    await expect(t.verify(proof, { expectedHtu: 'http://localhost/oidc/token' })).resolves.toBeDefined();
  });
});

describe('iat is within the acceptance window (RFC 9449 §4.3 check 11, §11.1)', () => {
  // The fixture allows 60 s of age and 5 s of clock skew into the future.
  it.each([
    ['now', 0],
    ['exactly the maximum age ago', -60],
    ['exactly the allowed skew ahead', 5],
  ])('accepts a proof created %s', async (_name, offset) => {
    const t = verifierFixture();
    await expect(t.verify(await t.proof(key, { iat: t.nowSeconds() + offset }))).resolves.toBeDefined();
  });

  it.each([
    ['just over the maximum age ago', -60.001],
    ['an hour ago', -3600],
    ['just over the allowed skew ahead', 5.001],
    ['a day ahead', 86_400],
  ])('refuses a proof created %s', async (_name, offset) => {
    const t = verifierFixture();
    await expectRefusal(t.verify(await t.proof(key, { iat: t.nowSeconds() + offset })), 'invalid_dpop_proof', 'iat');
  });

  it('refuses an iat of 0', async () => {
    const t = verifierFixture();
    await expectRefusal(t.verify(await t.proof(key, { iat: 0 })), 'invalid_dpop_proof', 'iat');
  });

  it('accepts a fractional iat such as 1659156608.74, a legal NumericDate (RFC 7519 §2)', async () => {
    const t = verifierFixture({ start: 1_659_156_610_000 });
    await expect(t.verify(await t.proof(key, { iat: 1659156608.74 }))).resolves.toMatchObject({ iat: 1659156608.74 });
  });

  it('refuses a proof once time has moved past its window', async () => {
    const t = verifierFixture();
    const proof = await t.proof(key);
    t.clock.advance(61_000);
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'iat');
  });
});

describe('nonce, once required, is a nonce the server issued (RFC 9449 §4.3 check 10, §8, §9, §11.3)', () => {
  it('answers a proof without nonce with use_dpop_nonce carrying a fresh nonce for the key', async () => {
    const t = verifierFixture();
    const error = await expectRefusal(t.verify(await t.proof(key), { requireNonce: true }), 'use_dpop_nonce', 'nonce');
    expect(error.dpopNonce).toBeTypeOf('string');
    expect(t.nonces.verify('token', key.jkt, error.dpopNonce!)).toBe(true);
  });

  it('accepts a retry carrying the nonce from the use_dpop_nonce answer', async () => {
    const t = verifierFixture();
    const error = await expectRefusal(t.verify(await t.proof(key), { requireNonce: true }), 'use_dpop_nonce', 'nonce');
    const retry = await t.proof(key, { nonce: error.dpopNonce! });
    await expect(t.verify(retry, { requireNonce: true })).resolves.toMatchObject({ jkt: key.jkt });
  });

  it('accepts a nonce issued in the previous step', async () => {
    const t = verifierFixture();
    const nonce = t.nonces.issue('token', key.jkt);
    t.clock.advance(60_000);
    await expect(t.verify(await t.proof(key, { nonce }), { requireNonce: true })).resolves.toBeDefined();
  });

  it('refuses a stale nonce, two steps old, and sends a fresh one', async () => {
    const t = verifierFixture();
    const nonce = t.nonces.issue('token', key.jkt);
    t.clock.advance(120_000);
    const error = await expectRefusal(t.verify(await t.proof(key, { nonce }), { requireNonce: true }), 'use_dpop_nonce', 'nonce');
    expect(error.dpopNonce).not.toBe(nonce);
    expect(t.nonces.verify('token', key.jkt, error.dpopNonce!)).toBe(true);
  });

  it('refuses a nonce issued for another key', async () => {
    const t = verifierFixture();
    const other = await makeProofKey('ES256');
    const nonce = t.nonces.issue('token', other.jkt);
    await expectRefusal(t.verify(await t.proof(key, { nonce }), { requireNonce: true }), 'use_dpop_nonce', 'nonce');
  });

  it('refuses a resource-server nonce at the token endpoint (§9: a nonce is valid only where issued)', async () => {
    const t = verifierFixture();
    const nonce = t.nonces.issue('resource', key.jkt);
    await expectRefusal(t.verify(await t.proof(key, { nonce }), { requireNonce: true }), 'use_dpop_nonce', 'nonce');
  });

  it('refuses a token-endpoint nonce at the protected resource', async () => {
    const t = verifierFixture();
    const nonce = t.nonces.issue('token', key.jkt);
    const proof = await t.proof(key, { nonce, htm: 'GET', htu: resourceUrl, accessToken: 'at' });
    const request = { method: 'GET', expectedHtu: resourceUrl, noncePurpose: 'resource' as const, requireNonce: true, accessToken: 'at' };
    const error = await expectRefusal(t.verify(proof, request), 'use_dpop_nonce', 'nonce');
    expect(t.nonces.verify('resource', key.jkt, error.dpopNonce!)).toBe(true);
  });

  it('refuses an issued nonce with characters appended: it must match exactly (RFC 9449 §8)', async () => {
    const t = verifierFixture();
    const nonce = `${t.nonces.issue('token', key.jkt)}!!`;
    await expectRefusal(t.verify(await t.proof(key, { nonce }), { requireNonce: true }), 'use_dpop_nonce', 'nonce');
  });

  it('refuses a nonce that is not a string', async () => {
    const t = verifierFixture();
    const proof = await t.proof(key, { extraClaims: { nonce: 12345 } });
    await expectRefusal(t.verify(proof, { requireNonce: true }), 'use_dpop_nonce', 'nonce');
  });

  it('checks a nonce that is present even when none is required', async () => {
    const t = verifierFixture();
    await expectRefusal(t.verify(await t.proof(key, { nonce: 'made-up' })), 'use_dpop_nonce', 'nonce');
  });

  it('accepts a valid nonce when none is required', async () => {
    const t = verifierFixture();
    const nonce = t.nonces.issue('token', key.jkt);
    await expect(t.verify(await t.proof(key, { nonce }))).resolves.toBeDefined();
  });
});

describe('ath is the hash of the access token it travels with (RFC 9449 §4.3 check 12, §7.1)', () => {
  const accessToken = 'an-access-token.with~chars';
  const atResource = { method: 'GET', expectedHtu: resourceUrl, noncePurpose: 'resource' as const, accessToken };

  it('accepts an ath equal to base64url(SHA-256(access token))', async () => {
    const t = verifierFixture();
    const proof = await t.proof(key, { htm: 'GET', htu: resourceUrl, ath: accessTokenHash(accessToken) });
    await expect(t.verify(proof, atResource)).resolves.toBeDefined();
  });

  it('refuses a proof without ath when an access token is presented', async () => {
    const t = verifierFixture();
    const proof = await t.proof(key, { htm: 'GET', htu: resourceUrl });
    await expectRefusal(t.verify(proof, atResource), 'invalid_dpop_proof', 'ath');
  });

  it('refuses an ath made for another access token', async () => {
    const t = verifierFixture();
    const proof = await t.proof(key, { htm: 'GET', htu: resourceUrl, accessToken: 'another-access-token' });
    await expectRefusal(t.verify(proof, atResource), 'invalid_dpop_proof', 'ath');
  });

  it('refuses an ath that is not a string', async () => {
    const t = verifierFixture();
    const proof = await t.proof(key, { htm: 'GET', htu: resourceUrl, extraClaims: { ath: 1 } });
    await expectRefusal(t.verify(proof, atResource), 'invalid_dpop_proof', 'ath');
  });

  it('ignores ath when no access token is presented (token endpoint)', async () => {
    const t = verifierFixture();
    await expect(t.verify(await t.proof(key, { ath: 'anything' }))).resolves.toBeDefined();
  });
});

describe('each proof is accepted once within its window (RFC 9449 §11.1 replay)', () => {
  it('refuses the same proof presented twice', async () => {
    const t = verifierFixture();
    const proof = await t.proof(key);
    await t.verify(proof);
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'replay');
  });

  it('refuses another proof with the same key and jti within the window', async () => {
    const t = verifierFixture();
    await t.verify(await t.proof(key, { jti: 'same-jti' }));
    t.clock.advance(10_000);
    await expectRefusal(t.verify(await t.proof(key, { jti: 'same-jti' })), 'invalid_dpop_proof', 'replay');
  });

  it('accepts the same jti from another key', async () => {
    const t = verifierFixture();
    const other = await makeProofKey('ES256');
    await t.verify(await t.proof(key, { jti: 'same-jti' }));
    await expect(t.verify(await t.proof(other, { jti: 'same-jti' }))).resolves.toMatchObject({ jkt: other.jkt });
  });

  it('accepts the same key and jti again once the window has passed (as RFC 9449 §5 refresh example)', async () => {
    const t = verifierFixture();
    await t.verify(await t.proof(key, { jti: 'same-jti' }));
    t.clock.advance(66_000);
    await expect(t.verify(await t.proof(key, { jti: 'same-jti' }))).resolves.toBeDefined();
  });

  it('refuses a replay at the last instant the proof is still acceptable', async () => {
    // A proof made at the skew limit stays acceptable for maxFuture + maxAge seconds from now.
    const t = verifierFixture();
    const proof = await t.proof(key, { iat: t.nowSeconds() + 5 });
    await t.verify(proof);
    t.clock.advance(65_000);
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'replay');
    t.clock.advance(1);
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'iat');
  });

  it('does not spend the jti of a refused proof', async () => {
    const t = verifierFixture();
    await expectRefusal(t.verify(await t.proof(key, { jti: 'j-1', htm: 'GET' })), 'invalid_dpop_proof', 'htm');
    await expect(t.verify(await t.proof(key, { jti: 'j-1' }))).resolves.toBeDefined();
  });
});
