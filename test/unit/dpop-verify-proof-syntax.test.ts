import { randomBytes } from 'node:crypto';
import { CompactSign, exportJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { singleDpopHeader } from '../../src/dpop/verify-proof.js';
import { OAuthError } from '../../src/lib/oauth-error.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { b64url, b64urlJson, expectRefusal, signRaw, verifierFixture } from '../helpers/dpop-verifier.js';

/** RFC 9449 §4.1-§4.3 checks 1-7 and the required claims, on DpopProofVerifier directly. */

let key: ProofKey;
let otherKey: ProofKey;
beforeAll(async () => {
  [key, otherKey] = await Promise.all([makeProofKey('ES256'), makeProofKey('ES256')]);
});

/** A proof MACed with HS256, its secret given as an oct jwk (jose's types forbid `k` in a header jwk). */
function hs256Proof(iat: number): Promise<string> {
  const secret = randomBytes(32);
  const header = { typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: secret.toString('base64url') } };
  const claims = { jti: 'j-1', htm: 'POST', htu: 'https://op.example.test/oidc/token', iat };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(header as { alg: string }).sign(secret);
}

describe('one DPoP header field (RFC 9449 §4.3 check 1)', () => {
  it('answers undefined when the request carries no DPoP header', () => {
    expect(singleDpopHeader([])).toBeUndefined();
  });

  it('returns the value of a single DPoP header field', () => {
    expect(singleDpopHeader(['aaa.bbb.ccc'])).toBe('aaa.bbb.ccc');
  });

  it('refuses two DPoP header fields ("not more than one DPoP HTTP request header field")', () => {
    const refuse = () => singleDpopHeader(['aaa.bbb.ccc', 'ddd.eee.fff']);
    expect(refuse).toThrow(OAuthError);
    expect(refuse).toThrow(expect.objectContaining({ code: 'invalid_dpop_proof', reason: 'multiple' }));
  });

  it('refuses one field holding two comma-joined values, as a proxy joins duplicates', () => {
    expect(() => singleDpopHeader(['aaa.bbb.ccc, ddd.eee.fff'])).toThrow(
      expect.objectContaining({ code: 'invalid_dpop_proof', reason: 'multiple' }),
    );
  });
});

describe('a single well-formed JWT (RFC 9449 §4.3 check 2, §4.1 token68)', () => {
  it('accepts a well-formed proof', async () => {
    const t = verifierFixture();
    await expect(t.verify(await t.proof(key))).resolves.toMatchObject({ jkt: key.jkt });
  });

  it.each([
    ['an empty value', ''],
    ['one part', 'eyJhbGciOiJFUzI1NiJ9'],
    ['two parts', 'eyJhbGciOiJFUzI1NiJ9.e30'],
    ['four parts', 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln.c2ln'],
    ['a JWE (five parts)', 'a.b.c.d.e'],
    ['characters outside token68 (space)', 'eyJhbGciOiJFUzI1NiJ9 .e30.c2ln'],
    ['characters outside token68 (quote)', '"eyJhbGciOiJFUzI1NiJ9.e30.c2ln"'],
    ['a header that is not base64url JSON', `${b64url('not json')}.e30.c2ln`],
    ['a header that is a JSON array', `${b64urlJson(['dpop+jwt'])}.e30.c2ln`],
    ['a value far longer than any proof', `${'a'.repeat(9000)}.e30.c2ln`],
  ])('refuses %s as malformed', async (_name, value) => {
    const t = verifierFixture();
    await expectRefusal(t.verify(value), 'invalid_dpop_proof', 'malformed');
  });

  it('refuses a correctly signed payload that is not JSON', async () => {
    const t = verifierFixture();
    const proof = await signRaw(key, { typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk }, 'not json');
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'malformed');
  });

  it('refuses a correctly signed payload that is a JSON array, not an object', async () => {
    const t = verifierFixture();
    const proof = await signRaw(key, { typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk }, '["jti"]');
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'malformed');
  });
});

describe('typ is dpop+jwt (RFC 9449 §4.3 check 4, §11.5 JWT swapping)', () => {
  it('refuses a proof without typ', async () => {
    const t = verifierFixture();
    const claims = { jti: 'j-1', htm: 'POST', htu: 'https://op.example.test/oidc/token', iat: t.nowSeconds() };
    const proof = await signRaw(key, { alg: 'ES256', jwk: key.publicJwk }, claims);
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'typ');
  });

  it.each(['JWT', 'at+jwt', 'DPOP+JWT', ''])('refuses typ "%s"', async (typ) => {
    const t = verifierFixture();
    await expectRefusal(t.verify(await t.proof(key, { typ })), 'invalid_dpop_proof', 'typ');
  });
});

describe('alg is an allowed asymmetric algorithm (RFC 9449 §4.3 check 5, §11.6)', () => {
  it('refuses alg "none" (an unsigned proof)', async () => {
    const t = verifierFixture();
    const header = { typ: 'dpop+jwt', alg: 'none', jwk: key.publicJwk };
    const payload = { jti: 'j-1', htm: 'POST', htu: 'https://op.example.test/oidc/token', iat: t.nowSeconds() };
    await expectRefusal(t.verify(`${b64urlJson(header)}.${b64urlJson(payload)}.`), 'invalid_dpop_proof', 'alg');
  });

  it('refuses a proof without alg', async () => {
    const t = verifierFixture();
    const valid = await t.proof(key);
    const [, payload, signature] = valid.split('.');
    const header = b64urlJson({ typ: 'dpop+jwt', jwk: key.publicJwk });
    await expectRefusal(t.verify(`${header}.${payload}.${signature}`), 'invalid_dpop_proof', 'alg');
  });

  it('refuses HS256, a MAC, with its secret as an oct jwk', async () => {
    const t = verifierFixture();
    await expectRefusal(t.verify(await hs256Proof(t.nowSeconds())), 'invalid_dpop_proof', 'alg');
  });

  it('refuses HS256 even if a misconfigured allow-list named it: the oct jwk is not a public key', async () => {
    const t = verifierFixture({ settings: { algorithms: ['ES256', 'HS256'] } });
    await expectRefusal(t.verify(await hs256Proof(t.nowSeconds())), 'invalid_dpop_proof', 'jwk');
  });

  it('refuses a correctly signed proof whose alg (ES512) is not in the allow-list', async () => {
    const t = verifierFixture();
    const es512 = await makeProofKey('ES512');
    await expectRefusal(t.verify(await t.proof(es512)), 'invalid_dpop_proof', 'alg');
  });

  it('refuses a correctly signed ES384 proof when the allow-list is only ES256', async () => {
    const t = verifierFixture({ settings: { algorithms: ['ES256'] } });
    const es384 = await makeProofKey('ES384');
    await expectRefusal(t.verify(await t.proof(es384)), 'invalid_dpop_proof', 'alg');
  });
});

describe('jwk is a public key fit for alg (RFC 9449 §4.3 checks 6-7, §4.2)', () => {
  it('refuses a proof without jwk', async () => {
    const t = verifierFixture();
    await expectRefusal(t.verify(await t.proof(key, { jwk: null })), 'invalid_dpop_proof', 'jwk');
  });

  it('refuses a jwk that is not an object', async () => {
    const t = verifierFixture();
    const proof = await signRaw(key, { typ: 'dpop+jwt', alg: 'ES256', jwk: 'key' }, { jti: 'j', htm: 'POST', htu: 'x', iat: 1 });
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'jwk');
  });

  it('refuses a jwk carrying the private key (d)', async () => {
    const t = verifierFixture();
    const privateJwk = await exportJWK(key.privateKey);
    expect(privateJwk.d).toBeTypeOf('string');
    await expectRefusal(t.verify(await t.proof(key, { jwk: privateJwk })), 'invalid_dpop_proof', 'jwk');
  });

  it('refuses a jwk of kty oct', async () => {
    const t = verifierFixture();
    const jwk = { kty: 'oct', k: randomBytes(32).toString('base64url') };
    await expectRefusal(t.verify(await t.proof(key, { jwk })), 'invalid_dpop_proof', 'jwk');
  });

  it('refuses a P-384 jwk in an ES256 proof', async () => {
    const t = verifierFixture();
    const p384 = await makeProofKey('ES384');
    await expectRefusal(t.verify(await t.proof(key, { jwk: p384.publicJwk })), 'invalid_dpop_proof', 'jwk');
  });

  it('refuses an RSA jwk in an ES256 proof', async () => {
    const t = verifierFixture();
    const rsa = await makeProofKey('PS256');
    await expectRefusal(t.verify(await t.proof(key, { jwk: rsa.publicJwk })), 'invalid_dpop_proof', 'jwk');
  });

  it('refuses an EC jwk missing its y coordinate', async () => {
    const t = verifierFixture();
    const { y: _y, ...jwk } = key.publicJwk;
    await expectRefusal(t.verify(await t.proof(key, { jwk })), 'invalid_dpop_proof', 'jwk');
  });
});

describe('the signature verifies with the jwk (RFC 9449 §4.3 check 6)', () => {
  it('refuses a proof whose payload was changed after signing', async () => {
    const t = verifierFixture();
    const [header, payload, signature] = (await t.proof(key)).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const tampered = b64urlJson({ ...claims, htu: 'https://op.example.test/oidc/profile' });
    await expectRefusal(t.verify(`${header}.${tampered}.${signature}`), 'invalid_dpop_proof', 'signature');
  });

  it('refuses a proof signed by another key than the one in its jwk', async () => {
    const t = verifierFixture();
    const proof = await t.proof(otherKey, { jwk: key.publicJwk });
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'signature');
  });

  it('refuses a proof whose signature segment is empty', async () => {
    const t = verifierFixture();
    const [header, payload] = (await t.proof(key)).split('.');
    await expectRefusal(t.verify(`${header}.${payload}.`), 'invalid_dpop_proof', 'signature');
  });
});

describe('required claims jti, htm, htu, iat are present and well typed (RFC 9449 §4.2, §4.3 check 3)', () => {
  it.each(['jti', 'htm', 'htu', 'iat'])('refuses a proof without %s', async (claim) => {
    const t = verifierFixture();
    await expectRefusal(t.verify(await t.proof(key, { omit: [claim] })), 'invalid_dpop_proof', claim);
  });

  it.each([
    ['jti', 42],
    ['jti', ''],
    ['htm', ['POST']],
    ['htu', { href: 'https://op.example.test/oidc/token' }],
    ['iat', '1764417600'],
    ['iat', null],
  ])('refuses an ill-typed %s (%j)', async (claim, value) => {
    const t = verifierFixture();
    await expectRefusal(t.verify(await t.proof(key, { extraClaims: { [claim]: value } })), 'invalid_dpop_proof', claim);
  });

  it('accepts a jti exactly at the length bound', async () => {
    const t = verifierFixture({ settings: { jtiMaxLength: 64 } });
    await expect(t.verify(await t.proof(key, { jti: 'j'.repeat(64) }))).resolves.toMatchObject({ jti: 'j'.repeat(64) });
  });

  it('refuses a jti over the length bound (RFC 9449 §11.1, memory exhaustion)', async () => {
    const t = verifierFixture({ settings: { jtiMaxLength: 64 } });
    await expectRefusal(t.verify(await t.proof(key, { jti: 'j'.repeat(65) })), 'invalid_dpop_proof', 'jti');
  });
});
