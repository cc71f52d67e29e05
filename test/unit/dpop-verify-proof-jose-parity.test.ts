import { constants, generateKeyPairSync, KeyObject, sign, type KeyObject as NodeKeyObject } from 'node:crypto';
import { compactVerify, importJWK, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { b64urlJson, expectRefusal, tokenUrl, verifierFixture } from '../helpers/dpop-verifier.js';

/**
 * Proof signatures are verified with node:crypto (src/lib/jws-verify.ts), not jose: every
 * proof below is one jose's importJWK + compactVerify also refuses, and the verifier refuses it
 * with the reason it gave when jose verified it.
 */

let es256: ProofKey;
beforeAll(async () => {
  es256 = await makeProofKey('ES256');
});

const pss = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };

function signSegments(alg: string, privateKey: NodeKeyObject, headerSegment: string, payloadSegment: string): string {
  const input = Buffer.from(`${headerSegment}.${payloadSegment}`);
  const options = alg.startsWith('ES') ? { dsaEncoding: 'ieee-p1363' as const } : alg.startsWith('PS') ? pss : {};
  const hash = alg.startsWith('Ed') ? null : `sha${alg.slice(2)}`;
  return `${headerSegment}.${payloadSegment}.${sign(hash, input, { key: privateKey, ...options }).toString('base64url')}`;
}

function claims(nowSeconds: number): Record<string, unknown> {
  return { jti: `j-${Math.random()}`, htm: 'POST', htu: tokenUrl, iat: nowSeconds };
}

async function joseRefuses(proof: string, jwk: JWK, alg: string): Promise<boolean> {
  try {
    await compactVerify(proof, await importJWK(jwk, alg), { algorithms: [alg] });
    return false;
  } catch {
    return true;
  }
}

describe('proofs jose refuses are refused with the same reason', () => {
  it('accepts a proof signed by hand the way jose signs (the baseline for the cases below)', async () => {
    const t = verifierFixture();
    const header = b64urlJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.publicJwk });
    const proof = signSegments('ES256', KeyObject.from(es256.privateKey), header, b64urlJson(claims(t.nowSeconds())));
    expect(await joseRefuses(proof, es256.publicJwk, 'ES256')).toBe(false);
    await expect(t.verify(proof)).resolves.toMatchObject({ jkt: es256.jkt });
  });

  it.each([
    ['an unknown critical extension', { crit: ['exp'], exp: 1 }],
    ['a crit that is not an array', { crit: 'b64' }],
  ])('refuses %s as an invalid signature', async (_name, extra) => {
    const t = verifierFixture();
    const header = b64urlJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.publicJwk, ...extra });
    const proof = signSegments('ES256', KeyObject.from(es256.privateKey), header, b64urlJson(claims(t.nowSeconds())));
    expect(await joseRefuses(proof, es256.publicJwk, 'ES256')).toBe(true);
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'signature');
  });

  it('refuses crit naming b64 with an unencoded payload (RFC 7797): a proof payload is base64url JSON', async () => {
    // jose's compactVerify took it and the payload then failed as JSON; now the header fails first.
    const t = verifierFixture();
    const header = b64urlJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.publicJwk, crit: ['b64'], b64: false });
    const proof = signSegments('ES256', KeyObject.from(es256.privateKey), header, b64urlJson(claims(t.nowSeconds())));
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'signature');
  });

  it('accepts b64 without crit, which means nothing there (RFC 7797 §6), as jose does', async () => {
    const t = verifierFixture();
    const header = b64urlJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.publicJwk, b64: false });
    const proof = signSegments('ES256', KeyObject.from(es256.privateKey), header, b64urlJson(claims(t.nowSeconds())));
    expect(await joseRefuses(proof, es256.publicJwk, 'ES256')).toBe(false);
    await expect(t.verify(proof)).resolves.toMatchObject({ jkt: es256.jkt });
  });

  it('refuses a DER-encoded ECDSA signature: JWS uses R || S (RFC 7518 §3.4)', async () => {
    const t = verifierFixture();
    const header = b64urlJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.publicJwk });
    const payload = b64urlJson(claims(t.nowSeconds()));
    const der = sign('sha256', Buffer.from(`${header}.${payload}`), KeyObject.from(es256.privateKey)).toString('base64url');
    const proof = `${header}.${payload}.${der}`;
    expect(await joseRefuses(proof, es256.publicJwk, 'ES256')).toBe(true);
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'signature');
  });

  it('refuses a signature segment that is not base64url', async () => {
    const t = verifierFixture();
    const [header, payload, signature] = (await t.proof(es256)).split('.');
    const proof = `${header}.${payload}.${signature!.slice(0, -2)}+/`;
    expect(await joseRefuses(proof, es256.publicJwk, 'ES256')).toBe(true);
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'signature');
  });

  it('refuses a header segment with base64 (not base64url) characters as malformed', async () => {
    const t = verifierFixture();
    // A header whose base64url encoding contains "-" or "_": its base64 twin has "+" or "/".
    const header = b64urlJson({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.publicJwk, pad: '>>>???' });
    expect(header).toMatch(/[-_]/);
    const base64Header = header.replace(/-/g, '+').replace(/_/g, '/');
    const [, payload, signature] = signSegments(
      'ES256',
      KeyObject.from(es256.privateKey),
      header,
      b64urlJson(claims(t.nowSeconds())),
    ).split('.');
    await expectRefusal(t.verify(`${base64Header}.${payload}.${signature}`), 'invalid_dpop_proof', 'malformed');
  });

  it('refuses a header that is not UTF-8 as malformed', async () => {
    const t = verifierFixture();
    const header = Buffer.concat([Buffer.from('{"typ":"dpop+jwt","x":"'), Buffer.from([0xff]), Buffer.from('"}')]).toString('base64url');
    await expectRefusal(t.verify(`${header}.e30.c2ln`), 'invalid_dpop_proof', 'malformed');
  });

  it('refuses a P-521 jwk in an ES256 proof, and a P-256 jwk in an ES512 proof', async () => {
    const t = verifierFixture({ settings: { algorithms: ['ES256', 'ES512'] } });
    const es512 = await makeProofKey('ES512');
    await expectRefusal(t.verify(await t.proof(es256, { jwk: es512.publicJwk })), 'invalid_dpop_proof', 'jwk');
    await expectRefusal(t.verify(await t.proof(es512, { jwk: es256.publicJwk })), 'invalid_dpop_proof', 'jwk');
  });

  it('refuses an EC jwk whose point is not on the curve', async () => {
    const t = verifierFixture();
    const y = Buffer.from(es256.publicJwk.y!, 'base64url');
    y[31] = y[31]! ^ 1;
    const jwk = { ...es256.publicJwk, y: y.toString('base64url') };
    await expect(importJWK(jwk, 'ES256')).rejects.toThrow();
    await expectRefusal(t.verify(await t.proof(es256, { jwk })), 'invalid_dpop_proof', 'jwk');
  });

  it('refuses a jwk whose key_ops do not allow verify, and one whose ext is not a boolean', async () => {
    const t = verifierFixture();
    for (const jwk of [
      { ...es256.publicJwk, key_ops: ['sign'] },
      { ...es256.publicJwk, ext: 'yes' },
    ] as JWK[]) {
      const proof = await t.proof(es256, { jwk });
      expect(await joseRefuses(proof, jwk, 'ES256')).toBe(true);
      await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'jwk');
    }
  });

  it('accepts a jwk whose key_ops allow verify', async () => {
    const t = verifierFixture();
    const jwk = { ...es256.publicJwk, key_ops: ['verify'] };
    await expect(t.verify(await t.proof(es256, { jwk }))).resolves.toMatchObject({ jkt: es256.jkt });
  });

  it('refuses a PS256 proof by a 1024-bit RSA key (jose requires 2048 bits)', async () => {
    const t = verifierFixture();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = publicKey.export({ format: 'jwk' }) as JWK;
    const header = b64urlJson({ typ: 'dpop+jwt', alg: 'PS256', jwk });
    const proof = signSegments('PS256', privateKey, header, b64urlJson(claims(t.nowSeconds())));
    expect(await joseRefuses(proof, jwk, 'PS256')).toBe(true);
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'jwk');
  });

  it('refuses a PS256 signature made with another salt length than the digest length', async () => {
    const t = verifierFixture();
    const rsa = await makeProofKey('PS256');
    const header = b64urlJson({ typ: 'dpop+jwt', alg: 'PS256', jwk: rsa.publicJwk });
    const payload = b64urlJson(claims(t.nowSeconds()));
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), {
      key: KeyObject.from(rsa.privateKey),
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 20,
    }).toString('base64url');
    const proof = `${header}.${payload}.${signature}`;
    expect(await joseRefuses(proof, rsa.publicJwk, 'PS256')).toBe(true);
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'signature');
  });

  it('refuses a PKCS#1 v1.5 signature under PS256', async () => {
    const t = verifierFixture();
    const rsa = await makeProofKey('PS256');
    const header = b64urlJson({ typ: 'dpop+jwt', alg: 'PS256', jwk: rsa.publicJwk });
    const payload = b64urlJson(claims(t.nowSeconds()));
    const proof = signSegments('RS256', KeyObject.from(rsa.privateKey), header, payload);
    expect(await joseRefuses(proof, rsa.publicJwk, 'PS256')).toBe(true);
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'signature');
  });

  it('refuses an ES256 proof whose signature is one byte short', async () => {
    const t = verifierFixture();
    const [header, payload, signature] = (await t.proof(es256)).split('.');
    const short = Buffer.from(signature!, 'base64url').subarray(0, 63).toString('base64url');
    await expectRefusal(t.verify(`${header}.${payload}.${short}`), 'invalid_dpop_proof', 'signature');
  });
});
