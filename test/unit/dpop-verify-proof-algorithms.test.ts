import { generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { makeProofKey } from '../helpers/dpop.js';
import { b64urlJson, expectRefusal, tokenUrl, verifierFixture } from '../helpers/dpop-verifier.js';

/**
 * Proof algorithms (RFC 9449 §4.2, §5.1 dpop_signing_alg_values_supported): every default
 * algorithm verifies. jose 6 treats "EdDSA" and the fully-specified "Ed25519" (RFC 9864) as
 * separate identifiers over the same Ed25519 keys; "EdDSA" no longer covers Ed448.
 */

describe('proofs in each allowed algorithm are accepted', () => {
  it.each(['ES256', 'ES384', 'PS256', 'EdDSA', 'Ed25519'])('accepts a %s proof', async (alg) => {
    const t = verifierFixture();
    const key = await makeProofKey(alg);
    await expect(t.verify(await t.proof(key))).resolves.toMatchObject({ jkt: key.jkt });
  });

  it('accepts ES512 and PS384 when the allow-list names them', async () => {
    const t = verifierFixture({ settings: { algorithms: ['ES512', 'PS384'] } });
    for (const alg of ['ES512', 'PS384']) {
      const key = await makeProofKey(alg);
      await expect(t.verify(await t.proof(key))).resolves.toMatchObject({ jkt: key.jkt });
    }
  });
});

describe('EdDSA and Ed25519 in jose 6', () => {
  it('exports the same OKP Ed25519 public key shape for both identifiers', async () => {
    const eddsa = await makeProofKey('EdDSA');
    const ed25519 = await makeProofKey('Ed25519');
    expect(Object.keys(eddsa.publicJwk).sort()).toEqual(['crv', 'kty', 'x']);
    expect({ kty: eddsa.publicJwk.kty, crv: eddsa.publicJwk.crv }).toEqual({ kty: 'OKP', crv: 'Ed25519' });
    expect({ kty: ed25519.publicJwk.kty, crv: ed25519.publicJwk.crv }).toEqual({ kty: 'OKP', crv: 'Ed25519' });
  });

  it('accepts one Ed25519 key signing under either identifier', async () => {
    const t = verifierFixture();
    const key = await makeProofKey('Ed25519');
    await expect(t.verify(await t.proof(key, { alg: 'EdDSA' }))).resolves.toMatchObject({ jkt: key.jkt });
    await expect(t.verify(await t.proof(key, { alg: 'Ed25519' }))).resolves.toMatchObject({ jkt: key.jkt });
  });

  it('refuses alg Ed25519 when only EdDSA is allowed, and the reverse: they are separate identifiers', async () => {
    const onlyEdDsa = verifierFixture({ settings: { algorithms: ['EdDSA'] } });
    const onlyEd25519 = verifierFixture({ settings: { algorithms: ['Ed25519'] } });
    const key = await makeProofKey('Ed25519');
    await expectRefusal(onlyEdDsa.verify(await onlyEdDsa.proof(key, { alg: 'Ed25519' })), 'invalid_dpop_proof', 'alg');
    await expectRefusal(onlyEd25519.verify(await onlyEd25519.proof(key, { alg: 'EdDSA' })), 'invalid_dpop_proof', 'alg');
  });

  it('refuses an Ed448 jwk under EdDSA: jose 6 supports only Ed25519 there', async () => {
    const t = verifierFixture();
    const ed25519 = await makeProofKey('Ed25519');
    const ed448Jwk = generateKeyPairSync('ed448').publicKey.export({ format: 'jwk' });
    expect(ed448Jwk.crv).toBe('Ed448');
    const proof = await t.proof(ed25519, { alg: 'EdDSA', jwk: ed448Jwk });
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'jwk');
  });

  it('refuses an Ed448 key generated through jose 6 (generation itself is refused)', async () => {
    await expect(generateKeyPair('EdDSA', { crv: 'Ed448' })).rejects.toThrow();
  });

  it('refuses a P-256 jwk under EdDSA', async () => {
    const t = verifierFixture();
    const ed25519 = await makeProofKey('Ed25519');
    const p256 = await makeProofKey('ES256');
    await expectRefusal(t.verify(await t.proof(ed25519, { alg: 'EdDSA', jwk: p256.publicJwk })), 'invalid_dpop_proof', 'jwk');
  });
});

describe('checked proof headers and their keys are cached, bounded', () => {
  it('keeps verifying a key after the cache has evicted it', async () => {
    const t = verifierFixture({ settings: { keyCacheMaxEntries: 1 } });
    const [first, second] = await Promise.all([makeProofKey('ES256'), makeProofKey('ES256')]);
    await t.verify(await t.proof(first));
    await t.verify(await t.proof(second));
    await expect(t.verify(await t.proof(first))).resolves.toMatchObject({ jkt: first.jkt });
  });

  it('checks a header it has not seen in full, even when its key was seen: a wrong typ after a good proof', async () => {
    const t = verifierFixture();
    const key = await makeProofKey('ES256');
    await t.verify(await t.proof(key));
    await expectRefusal(t.verify(await t.proof(key, { typ: 'jwt' })), 'invalid_dpop_proof', 'typ');
    await expect(t.verify(await t.proof(key))).resolves.toMatchObject({ jkt: key.jkt });
  });

  it('refuses a proof whose header was cached when its signature or payload is bad', async () => {
    const t = verifierFixture();
    const key = await makeProofKey('ES256');
    await t.verify(await t.proof(key));
    const [header, payload, signature] = (await t.proof(key)).split('.') as [string, string, string];
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BA' : 'AA'}`;
    await expectRefusal(t.verify(`${header}.${payload}.${flipped}`), 'invalid_dpop_proof', 'signature');
    const other = (await t.proof(key, { jti: 'another-jti' })).split('.')[1]!;
    await expectRefusal(t.verify(`${header}.${other}.${signature}`), 'invalid_dpop_proof', 'signature');
    await expectRefusal(t.verify(`${header}.${payload}.`), 'invalid_dpop_proof', 'signature');
  });

  it('does not cache a header with crit: it is refused every time', async () => {
    const t = verifierFixture();
    const key = await makeProofKey('ES256');
    const header = b64urlJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk, crit: ['exp'], exp: 1 });
    const withCrit = async () => {
      const payload = b64urlJson({ jti: `j-${Math.random()}`, htm: 'POST', htu: tokenUrl, iat: t.nowSeconds() });
      const signature = sign('sha256', Buffer.from(`${header}.${payload}`), {
        key: KeyObject.from(key.privateKey),
        dsaEncoding: 'ieee-p1363',
      });
      return `${header}.${payload}.${signature.toString('base64url')}`;
    };
    await expectRefusal(t.verify(await withCrit()), 'invalid_dpop_proof', 'signature');
    await expectRefusal(t.verify(await withCrit()), 'invalid_dpop_proof', 'signature');
  });

  it('checks a header longer than 2 KB in full every time (it is not cached), and accepts it when valid', async () => {
    const t = verifierFixture();
    const key = await makeProofKey('ES256');
    const header = b64urlJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk, padding: 'p'.repeat(2100) });
    const signed = () => {
      const payload = b64urlJson({ jti: `j-${Math.random()}`, htm: 'POST', htu: tokenUrl, iat: t.nowSeconds() });
      const signature = sign('sha256', Buffer.from(`${header}.${payload}`), {
        key: KeyObject.from(key.privateKey),
        dsaEncoding: 'ieee-p1363',
      });
      return `${header}.${payload}.${signature.toString('base64url')}`;
    };
    await expect(t.verify(signed())).resolves.toMatchObject({ jkt: key.jkt });
    await expect(t.verify(signed())).resolves.toMatchObject({ jkt: key.jkt });
    const [, payload] = signed().split('.');
    await expectRefusal(t.verify(`${header}.${payload}.${'A'.repeat(86)}`), 'invalid_dpop_proof', 'signature');
  });

  it('does not let a cached key verify a proof signed by another key', async () => {
    const t = verifierFixture();
    const [key, other] = await Promise.all([makeProofKey('ES256'), makeProofKey('ES256')]);
    await t.verify(await t.proof(key));
    await expectRefusal(t.verify(await t.proof(other, { jwk: key.publicJwk })), 'invalid_dpop_proof', 'signature');
  });
});
