import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { accessTokenHash, jwkThumbprint } from '../../src/dpop/thumbprint.js';

/** RFC 7638 JWK thumbprints (the `jkt` of RFC 9449 §6.1) and RFC 9449 §4.2 `ath`. */

// RFC 7638 §3.1.
const rfc7638RsaKey = {
  kty: 'RSA',
  n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
};
// RFC 9449 §4.1 / §6.1.
const rfc9449EcKey = {
  kty: 'EC',
  x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs',
  y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA',
  crv: 'P-256',
};
// RFC 8037 Appendix A.2.
const rfc8037OkpKey = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };

function sha256b64url(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

describe('JWK thumbprint test vectors', () => {
  it('gives NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs for the RFC 7638 §3.1 RSA key', async () => {
    expect(jwkThumbprint(rfc7638RsaKey)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('gives 0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I for the RFC 9449 example key (the cnf.jkt of §6.1)', async () => {
    expect(jwkThumbprint(rfc9449EcKey)).toBe('0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I');
  });

  it('gives kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k for the RFC 8037 A.3 Ed25519 key', async () => {
    expect(jwkThumbprint(rfc8037OkpKey)).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });
});

describe('only the required members, in lexicographic order, without whitespace (RFC 7638 §3.2-3.3)', () => {
  it('hashes {"e","kty","n"} for RSA', async () => {
    const canonical = `{"e":"${rfc7638RsaKey.e}","kty":"RSA","n":"${rfc7638RsaKey.n}"}`;
    expect(jwkThumbprint(rfc7638RsaKey)).toBe(sha256b64url(canonical));
  });

  it('hashes {"crv","kty","x","y"} for EC', async () => {
    const canonical = `{"crv":"P-256","kty":"EC","x":"${rfc9449EcKey.x}","y":"${rfc9449EcKey.y}"}`;
    expect(jwkThumbprint(rfc9449EcKey)).toBe(sha256b64url(canonical));
  });

  it('hashes {"crv","kty","x"} for OKP (RFC 8037 §2)', async () => {
    const canonical = `{"crv":"Ed25519","kty":"OKP","x":"${rfc8037OkpKey.x}"}`;
    expect(jwkThumbprint(rfc8037OkpKey)).toBe(sha256b64url(canonical));
  });
});

describe('optional members do not change a thumbprint (RFC 7638 §3.2.1, checklist 52)', () => {
  it.each([
    ['kid', { kid: 'key-1' }],
    ['alg', { alg: 'ES256' }],
    ['use', { use: 'sig' }],
    ['key_ops', { key_ops: ['verify'] }],
    ['kid, alg and use together', { kid: 'k', alg: 'ES256', use: 'sig' }],
  ])('ignores %s', async (_name, extra) => {
    expect(jwkThumbprint({ ...rfc9449EcKey, ...extra })).toBe('0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I');
  });

  it('ignores the order of members', async () => {
    const reordered = { y: rfc9449EcKey.y, crv: 'P-256', x: rfc9449EcKey.x, kty: 'EC' };
    expect(jwkThumbprint(reordered)).toBe('0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I');
  });

  it('drops kid and alg from the RFC 7638 key, which carries both', async () => {
    const { kid: _kid, alg: _alg, ...bare } = rfc7638RsaKey;
    expect(jwkThumbprint(bare)).toBe(jwkThumbprint(rfc7638RsaKey));
  });
});

describe('a thumbprint needs the required members', () => {
  it('rejects an EC key without y', async () => {
    const { y: _y, ...partial } = rfc9449EcKey;
    expect(() => jwkThumbprint(partial)).toThrow();
  });

  it('rejects a key of unknown kty', async () => {
    expect(() => jwkThumbprint({ kty: 'XYZ', x: 'a' })).toThrow();
  });
});

describe('ath is base64url(SHA-256(ASCII access token)) (RFC 9449 §4.2)', () => {
  it('gives fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo for the RFC 9449 §7.1 example token', () => {
    expect(accessTokenHash('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU')).toBe('fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
  });

  it('is unpadded base64url of 32 bytes', () => {
    expect(accessTokenHash('x')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('jwkThumbprint agrees with jose.calculateJwkThumbprint', () => {
  it.each(['ES256', 'ES384', 'ES512', 'PS256', 'RS256', 'EdDSA'])('for generated %s keys', async (alg) => {
    for (let round = 0; round < 3; round++) {
      const { publicKey } = await generateKeyPair(alg, { extractable: true });
      const jwk = await exportJWK(publicKey);
      expect(jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk, 'sha256'));
    }
  });
});
