import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, form, issuer, makeTestApp, serviceClient, type TestApp } from '../helpers/app.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { revokeRequest } from '../helpers/endpoints.js';
import { lastReason } from '../helpers/protocol.js';

const profileUrl = `${issuer}/profile`;
const algs = 'algs="ES256 ES384 PS256 EdDSA Ed25519"';

describe('GET and POST /oidc/profile (RFC 9449 §7, RFC 6750)', () => {
  let t: TestApp;
  let key: ProofKey;
  let dpopToken: string;
  let bearerToken: string;
  const now = () => t.clock() / 1000;

  async function getToken(withProof: boolean): Promise<string> {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: {
        ...form,
        authorization: basicAuth(serviceClient.id, serviceClient.secret),
        ...(withProof ? { dpop: await makeProof(key, { htu: `${issuer}/token`, iat: now() }) } : {}),
      },
      payload: 'grant_type=client_credentials',
    });
    expect(response.statusCode).toBe(200);
    return response.json().access_token;
  }

  const profile = (headers: Record<string, string | string[]>, method: 'GET' | 'POST' = 'GET', url = '/oidc/profile') =>
    t.app.inject({ method, url, headers });

  beforeAll(async () => {
    t = await makeTestApp();
    key = await makeProofKey();
    dpopToken = await getToken(true);
    bearerToken = await getToken(false);
  });
  afterAll(() => t.app.close());

  it('answers a DPoP token with a proof carrying ath (GET)', async () => {
    const response = await profile({
      authorization: `DPoP ${dpopToken}`,
      dpop: await makeProof(key, { htm: 'GET', htu: profileUrl, iat: now(), accessToken: dpopToken }),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ sub: serviceClient.id });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['dpop-nonce']).toBeUndefined();
  });

  it('answers POST as well as GET (OIDC Core §5.3)', async () => {
    const response = await profile(
      {
        authorization: `DPoP ${dpopToken}`,
        dpop: await makeProof(key, { htm: 'POST', htu: profileUrl, iat: now(), accessToken: dpopToken }),
      },
      'POST',
    );
    expect(response.statusCode).toBe(200);
    expect(response.json().sub).toBe(serviceClient.id);
  });

  it('answers a Bearer token presented with the Bearer scheme', async () => {
    const response = await profile({ authorization: `Bearer ${bearerToken}` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ sub: serviceClient.id });
  });

  it('challenges a request without credentials with both schemes and no error (RFC 6750 §3.1, RFC 9449 §7.1)', async () => {
    const response = await profile({});
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toEqual([`DPoP ${algs}`, `Bearer realm="${issuer}"`]);
    // No error code at all (§3.1), but a body that says what the endpoint expects.
    expect(response.json()).toEqual({
      error_description:
        'an access token is required: send Authorization: DPoP <access token> with a DPoP proof carrying ath, or Authorization: Bearer <access token> for a token not bound to a key',
    });
  });

  it('refuses a DPoP-bound token presented as Bearer (RFC 9449 §7.2)', async () => {
    const response = await profile({ authorization: `Bearer ${dpopToken}` });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_token');
    expect(lastReason(t)).toBe('bearer_downgrade');
    expect(response.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token", error_description="[^"]+", algs="ES256 /);
  });

  it('refuses a DPoP token without a proof with invalid_dpop_proof', async () => {
    const response = await profile({ authorization: `DPoP ${dpopToken}` });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_dpop_proof');
    expect(lastReason(t)).toBe('missing');
    expect(response.headers['www-authenticate']).toBe(
      `DPoP error="invalid_dpop_proof", error_description="a DPoP proof is required", ${algs}`,
    );
  });

  it('refuses a proof without ath (RFC 9449 §4.3 check 12)', async () => {
    const response = await profile({
      authorization: `DPoP ${dpopToken}`,
      dpop: await makeProof(key, { htm: 'GET', htu: profileUrl, iat: now() }),
    });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_dpop_proof');
    expect(lastReason(t)).toBe('ath');
    expect(response.headers['www-authenticate']).toContain('error="invalid_dpop_proof"');
  });

  it('refuses a proof whose ath is for another token', async () => {
    const response = await profile({
      authorization: `DPoP ${dpopToken}`,
      dpop: await makeProof(key, { htm: 'GET', htu: profileUrl, iat: now(), accessToken: bearerToken }),
    });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_dpop_proof');
    expect(lastReason(t)).toBe('ath');
  });

  it('refuses a proof signed by another key with invalid_token (key binding, RFC 9449 §7.1)', async () => {
    const other = await makeProofKey();
    const response = await profile({
      authorization: `DPoP ${dpopToken}`,
      dpop: await makeProof(other, { htm: 'GET', htu: profileUrl, iat: now(), accessToken: dpopToken }),
    });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_token');
    expect(lastReason(t)).toBe('jkt');
    expect(response.headers['www-authenticate']).toBe(`DPoP error="invalid_token", error_description="Invalid DPoP key binding", ${algs}`);
  });

  it('refuses an unbound token presented with the DPoP scheme', async () => {
    const response = await profile({
      authorization: `DPoP ${bearerToken}`,
      dpop: await makeProof(key, { htm: 'GET', htu: profileUrl, iat: now(), accessToken: bearerToken }),
    });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_token');
    expect(lastReason(t)).toBe('not_bound');
  });

  it('refuses a proof for the token endpoint (htu) and for another method (htm)', async () => {
    const wrongHtu = await profile({
      authorization: `DPoP ${dpopToken}`,
      dpop: await makeProof(key, { htm: 'GET', htu: `${issuer}/token`, iat: now(), accessToken: dpopToken }),
    });
    expect(wrongHtu.statusCode).toBe(401);
    expect(wrongHtu.json().error).toBe('invalid_dpop_proof');
    expect(lastReason(t)).toBe('htu');
    const wrongHtm = await profile({
      authorization: `DPoP ${dpopToken}`,
      dpop: await makeProof(key, { htm: 'POST', htu: profileUrl, iat: now(), accessToken: dpopToken }),
    });
    expect(wrongHtm.statusCode).toBe(401);
    expect(wrongHtm.json().error).toBe('invalid_dpop_proof');
    expect(lastReason(t)).toBe('htm');
  });

  it('refuses a malformed or foreign token with invalid_token', async () => {
    const response = await profile({ authorization: 'Bearer not.a.token' });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_token');
    expect(lastReason(t)).toBe('invalid');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="[^"]+", error="invalid_token"/);
  });

  it('refuses an expired token with invalid_token', async () => {
    const expiring = await makeTestApp();
    try {
      const response = await expiring.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret) },
        payload: 'grant_type=client_credentials',
      });
      const token = response.json().access_token;
      // Answered once first: a token whose signature was verified before is refused when it expires.
      const early = await expiring.app.inject({ method: 'GET', url: '/oidc/profile', headers: { authorization: `Bearer ${token}` } });
      expect(early.statusCode).toBe(200);
      expiring.clock.advance(601_000);
      const late = await expiring.app.inject({ method: 'GET', url: '/oidc/profile', headers: { authorization: `Bearer ${token}` } });
      expect(late.statusCode).toBe(401);
      expect(late.json()).toEqual({ error: 'invalid_token', error_description: 'access token has expired' });
      expect(lastReason(expiring)).toBe('expired');
    } finally {
      await expiring.app.close();
    }
  });

  it('refuses a token revoked after it was answered: the denylist is asked on every request', async () => {
    const token = await getToken(false);
    const before = await profile({ authorization: `Bearer ${token}` });
    expect(before.statusCode).toBe(200);
    const revoked = await revokeRequest(t, { token }, { authorization: basicAuth(serviceClient.id, serviceClient.secret) });
    expect(revoked.statusCode).toBe(200);
    const after = await profile({ authorization: `Bearer ${token}` });
    expect(after.statusCode).toBe(401);
    expect(after.json()).toEqual({ error: 'invalid_token', error_description: 'access token has been revoked' });
    expect(lastReason(t)).toBe('revoked');
  });

  it('refuses an access token in the query string (RFC 9700 §2.1) with 400 and a challenge', async () => {
    const response = await profile({}, 'GET', `/oidc/profile?access_token=${bearerToken}`);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_request');
    expect(lastReason(t)).toBe('token_in_query');
    expect(response.headers['www-authenticate']).toContain('error="invalid_request"');
  });

  it('refuses two Authorization headers with 400 invalid_request (RFC 9449 §7.2)', async () => {
    const response = await profile({ authorization: [`Bearer ${bearerToken}`, `DPoP ${dpopToken}`] });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_request');
    expect(lastReason(t)).toBe('multiple_authorization');
  });

  describe('resource nonces (RFC 9449 §9)', () => {
    it('answers use_dpop_nonce with 401, a challenge and a DPoP-Nonce, then accepts the nonce', async () => {
      const strict = await makeTestApp({ dpop: { requireNonce: true } });
      try {
        const tokenPost = async (nonce?: string) =>
          strict.app.inject({
            method: 'POST',
            url: '/oidc/token',
            headers: {
              ...form,
              authorization: basicAuth(serviceClient.id, serviceClient.secret),
              dpop: await makeProof(key, { htu: `${issuer}/token`, iat: strict.clock() / 1000, ...(nonce ? { nonce } : {}) }),
            },
            payload: 'grant_type=client_credentials',
          });
        const first = await tokenPost();
        const tokenNonce = String(first.headers['dpop-nonce']);
        const issued = await tokenPost(tokenNonce);
        expect(issued.statusCode).toBe(200);
        const token = issued.json().access_token;

        const call = async (nonce?: string) =>
          strict.app.inject({
            method: 'GET',
            url: '/oidc/profile',
            headers: {
              authorization: `DPoP ${token}`,
              dpop: await makeProof(key, {
                htm: 'GET',
                htu: profileUrl,
                iat: strict.clock() / 1000,
                accessToken: token,
                ...(nonce ? { nonce } : {}),
              }),
            },
          });
        const challenged = await call();
        expect(challenged.statusCode).toBe(401);
        expect(challenged.json().error).toBe('use_dpop_nonce');
        expect(lastReason(strict)).toBe('nonce');
        expect(challenged.headers['www-authenticate']).toContain('DPoP error="use_dpop_nonce"');
        const resourceNonce = String(challenged.headers['dpop-nonce']);

        // A nonce from the token endpoint is not valid at the resource (RFC 9449 §9).
        const crossed = await call(tokenNonce);
        expect(crossed.statusCode).toBe(401);
        expect(crossed.json().error).toBe('use_dpop_nonce');
        expect(lastReason(strict)).toBe('nonce');

        const accepted = await call(resourceNonce);
        expect(accepted.statusCode).toBe(200);
        expect(accepted.json().sub).toBe(serviceClient.id);
        // Success responses carry the next nonce (RFC 9449 §8.2, §9).
        expect(accepted.headers['dpop-nonce']).toMatch(/^[\x21\x23-\x5B\x5D-\x7E]+$/);
      } finally {
        await strict.app.close();
      }
    });
  });
});
