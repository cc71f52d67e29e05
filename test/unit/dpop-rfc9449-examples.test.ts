import { compactVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { normalizeHtu } from '../../src/dpop/htu.js';
import { accessTokenHash, jwkThumbprint } from '../../src/dpop/thumbprint.js';
import { b64url, expectRefusal, verifierFixture } from '../helpers/dpop-verifier.js';

/**
 * The worked examples of RFC 9449, rebuilt from the JSON text the RFC shows (Figures 3 and 13,
 * §5 refresh example) and the RFC's signature segments. The JSON below is byte-for-byte the
 * serialisation the RFC's compact proofs encode (member order typ, alg, jwk; kty, x, y, crv),
 * so the signatures verify. The examples date from 2019: the clock is set to each iat.
 */

const exampleHeader =
  '{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}}';
const exampleJkt = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';

const tokenRequest = {
  payload: '{"jti":"-BwC3ESc6acc2lTc","htm":"POST","htu":"https://server.example.com/token","iat":1562262616}',
  signature: '2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg',
  iat: 1562262616,
};
const refreshRequest = {
  payload: '{"jti":"-BwC3ESc6acc2lTc","htm":"POST","htu":"https://server.example.com/token","iat":1562265296}',
  signature: 'pAqut2IRDm_De6PR93SYmGBPXpwrAk90e8cP2hjiaG5QsGSuKDYW7_X620BxqhvYC8ynrrvZLTk41mSRroapUA',
  iat: 1562265296,
};
const exampleAccessToken = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU';
const resourceRequest = {
  payload:
    '{"jti":"e1j3V_bKic8-LAEB","htm":"GET","htu":"https://resource.example.org/protectedresource","iat":1562262618,"ath":"fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"}',
  signature: '2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA',
  iat: 1562262618,
};

function compact(example: { payload: string; signature: string }): string {
  return `${b64url(exampleHeader)}.${b64url(example.payload)}.${example.signature}`;
}

const exampleTokenUrl = normalizeHtu('https://server.example.com/token')!;
const exampleResourceUrl = normalizeHtu('https://resource.example.org/protectedresource')!;

describe('the RFC 9449 example key', () => {
  it('has the thumbprint 0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I (§6.1)', async () => {
    const { jwk } = JSON.parse(exampleHeader) as { jwk: Record<string, string> };
    expect(jwkThumbprint(jwk)).toBe(exampleJkt);
  });

  it('verifies the three example signatures with jose over the rebuilt bytes', async () => {
    const { jwk } = JSON.parse(exampleHeader) as { jwk: Record<string, string> };
    const key = await importJWK(jwk, 'ES256');
    for (const example of [tokenRequest, refreshRequest, resourceRequest]) {
      const { payload } = await compactVerify(compact(example), key, { algorithms: ['ES256'] });
      expect(Buffer.from(payload).toString('utf8')).toBe(example.payload);
    }
  });
});

describe('the RFC 9449 token-request proof (§4.1 Figure 1, §5)', () => {
  it('verifies for POST https://server.example.com/token at its iat', async () => {
    const t = verifierFixture({ start: tokenRequest.iat * 1000 });
    await expect(t.verify(compact(tokenRequest), { method: 'POST', expectedHtu: exampleTokenUrl })).resolves.toEqual({
      jkt: exampleJkt,
      jti: '-BwC3ESc6acc2lTc',
      iat: tokenRequest.iat,
    });
  });

  it('is refused when replayed', async () => {
    const t = verifierFixture({ start: tokenRequest.iat * 1000 });
    await t.verify(compact(tokenRequest), { expectedHtu: exampleTokenUrl });
    await expectRefusal(t.verify(compact(tokenRequest), { expectedHtu: exampleTokenUrl }), 'invalid_dpop_proof', 'replay');
  });

  it('is refused an hour later, outside its window', async () => {
    const t = verifierFixture({ start: (tokenRequest.iat + 3600) * 1000 });
    await expectRefusal(t.verify(compact(tokenRequest), { expectedHtu: exampleTokenUrl }), 'invalid_dpop_proof', 'iat');
  });

  it('is refused at another URL', async () => {
    const t = verifierFixture({ start: tokenRequest.iat * 1000 });
    const otherUrl = normalizeHtu('https://server.example.com/par')!;
    await expectRefusal(t.verify(compact(tokenRequest), { expectedHtu: otherUrl }), 'invalid_dpop_proof', 'htu');
  });
});

describe('the RFC 9449 refresh-request proof (§5), which reuses the token request jti', () => {
  it('verifies after the token-request proof once the replay window has passed', async () => {
    const t = verifierFixture({ start: tokenRequest.iat * 1000 });
    await t.verify(compact(tokenRequest), { expectedHtu: exampleTokenUrl });
    t.clock.set(refreshRequest.iat * 1000);
    await expect(t.verify(compact(refreshRequest), { expectedHtu: exampleTokenUrl })).resolves.toEqual({
      jkt: exampleJkt,
      jti: '-BwC3ESc6acc2lTc',
      iat: refreshRequest.iat,
    });
  });
});

describe('the RFC 9449 resource-access proof (§7.1 Figure 13)', () => {
  const atResource = {
    method: 'GET',
    expectedHtu: exampleResourceUrl,
    noncePurpose: 'resource' as const,
    accessToken: exampleAccessToken,
  };

  it('carries ath = fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo, the hash of the example access token', () => {
    expect(accessTokenHash(exampleAccessToken)).toBe('fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
    expect(JSON.parse(resourceRequest.payload)).toMatchObject({ ath: accessTokenHash(exampleAccessToken) });
  });

  it('verifies for GET https://resource.example.org/protectedresource with the example access token', async () => {
    const t = verifierFixture({ start: resourceRequest.iat * 1000 });
    await expect(t.verify(compact(resourceRequest), atResource)).resolves.toEqual({
      jkt: exampleJkt,
      jti: 'e1j3V_bKic8-LAEB',
      iat: resourceRequest.iat,
    });
  });

  it('is refused with another access token (ath mismatch)', async () => {
    const t = verifierFixture({ start: resourceRequest.iat * 1000 });
    const request = { ...atResource, accessToken: `${exampleAccessToken}x` };
    await expectRefusal(t.verify(compact(resourceRequest), request), 'invalid_dpop_proof', 'ath');
  });

  it('is refused for POST', async () => {
    const t = verifierFixture({ start: resourceRequest.iat * 1000 });
    await expectRefusal(t.verify(compact(resourceRequest), { ...atResource, method: 'POST' }), 'invalid_dpop_proof', 'htm');
  });

  it('is refused when the resource server requires a nonce, with a nonce for the example key', async () => {
    const t = verifierFixture({ start: resourceRequest.iat * 1000 });
    const error = await expectRefusal(t.verify(compact(resourceRequest), { ...atResource, requireNonce: true }), 'use_dpop_nonce', 'nonce');
    expect(t.nonces.verify('resource', exampleJkt, error.dpopNonce!)).toBe(true);
  });
});
