import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, form, issuer, makeTestApp, serviceClient, type TestApp } from '../helpers/app.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { lastReason } from '../helpers/protocol.js';

const tokenUrl = `${issuer}/token`;

describe('POST /oidc/token, client_credentials', () => {
  let t: TestApp;
  let key: ProofKey;
  const now = () => t.clock() / 1000;
  const proof = (options: Partial<Parameters<typeof makeProof>[1]> = {}) => makeProof(key, { htu: tokenUrl, iat: now(), ...options });
  const request = (
    headers: Record<string, string | string[]> = {},
    payload = 'grant_type=client_credentials',
    clientId = serviceClient.id,
  ) =>
    t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { ...form, authorization: basicAuth(clientId, serviceClient.secret), ...headers },
      payload,
    });

  beforeAll(async () => {
    t = await makeTestApp();
    key = await makeProofKey();
  });
  afterAll(() => t.app.close());

  describe('token types', () => {
    it('issues a Bearer token without cnf when no DPoP header is sent', async () => {
      const response = await request();
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body.token_type).toBe('Bearer');
      expect(body.scope).toBe('api:read api:write');
      expect(decodeJwt(body.access_token).cnf).toBeUndefined();
      expect(response.headers['dpop-nonce']).toBeUndefined();
      expect(response.headers.pragma).toBe('no-cache');
    });

    it('issues a DPoP token bound to the proof key (RFC 9449 §5, §6.1)', async () => {
      const response = await request({ dpop: await proof() });
      expect(response.statusCode).toBe(200);
      expect(response.json().token_type).toBe('DPoP');
      expect(decodeJwt(response.json().access_token).cnf).toEqual({ jkt: key.jkt });
    });

    it('refuses a token request without a proof from a dpop_bound_access_tokens client (RFC 9449 §5.2)', async () => {
      const response = await request({}, 'grant_type=client_credentials', 'bound-client');
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('invalid_dpop_proof');
      expect(lastReason(t)).toBe('missing');
      expect(response.headers['cache-control']).toBe('no-store');
    });

    it('issues a DPoP token to a dpop_bound_access_tokens client with a proof', async () => {
      const response = await request({ dpop: await proof() }, 'grant_type=client_credentials', 'bound-client');
      expect(response.statusCode).toBe(200);
      expect(response.json().token_type).toBe('DPoP');
    });
  });

  describe('invalid proofs are 400 invalid_dpop_proof (RFC 9449 §5)', () => {
    it('refuses a proof whose htu names another path and logs expected vs received', async () => {
      const response = await request({ dpop: await proof({ htu: `${issuer}/profile` }) });
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('invalid_dpop_proof');
      expect(t.logs()).toContain(`"expected":"${tokenUrl}","received":"${issuer}/profile"`);
      expect(t.logs()).toContain('"reason":"htu"');
    });

    it("tells the client which htu was expected (it is the issuer's own public URL)", async () => {
      const response = await request({ dpop: await proof({ htu: 'http://internal:8080/oidc/token' }) });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({
        error: 'invalid_dpop_proof',
        error_description: `DPoP proof htu does not match the request URL; expected ${tokenUrl}`,
      });
      expect(lastReason(t)).toBe('htu');
    });

    it('gives the server time when iat is out of the window, and every answer carries Date, so a client can see its skew', async () => {
      const response = await request({ dpop: await proof({ iat: now() - 600 }) });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({
        error: 'invalid_dpop_proof',
        error_description: `DPoP proof iat is outside the acceptance window; server time is ${Math.floor(now())}`,
      });
      expect(lastReason(t)).toBe('iat');
      expect(response.headers.date).toMatch(/GMT$/);
    });

    it('builds the expected htu from the configured issuer, never from Host or X-Forwarded-*', async () => {
      const spoofed = await request({
        host: 'evil.example',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'http',
        dpop: await proof({ htu: 'http://evil.example/oidc/token' }),
      });
      expect(spoofed.statusCode).toBe(400);
      expect(spoofed.json().error).toBe('invalid_dpop_proof');
      expect(lastReason(t)).toBe('htu');
      const configured = await request({ host: 'evil.example', 'x-forwarded-host': 'evil.example', dpop: await proof() });
      expect(configured.statusCode).toBe(200);
    });

    it('refuses a proof with the wrong htm', async () => {
      const response = await request({ dpop: await proof({ htm: 'GET' }) });
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('invalid_dpop_proof');
      expect(lastReason(t)).toBe('htm');
    });

    it('refuses a replayed proof (RFC 9449 §11.1)', async () => {
      const once = await proof();
      expect((await request({ dpop: once })).statusCode).toBe(200);
      const again = await request({ dpop: once });
      expect(again.statusCode).toBe(400);
      expect(again.json()).toEqual({ error: 'invalid_dpop_proof', error_description: 'DPoP proof has already been used' });
      expect(lastReason(t)).toBe('replay');
    });

    it('refuses two DPoP header fields (RFC 9449 §4.3 check 1)', async () => {
      const response = await request({ dpop: [await proof(), await proof()] });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error: 'invalid_dpop_proof', error_description: 'more than one DPoP header' });
      expect(lastReason(t)).toBe('multiple');
    });

    it('refuses a comma-joined DPoP header value', async () => {
      const response = await request({ dpop: `${await proof()}, ${await proof()}` });
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('invalid_dpop_proof');
      expect(lastReason(t)).toBe('multiple');
    });

    it('refuses a proof that is not a JWT', async () => {
      const response = await request({ dpop: 'not-a-jwt' });
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('invalid_dpop_proof');
      expect(lastReason(t)).toBe('malformed');
    });

    it('refuses an old proof (iat outside the window)', async () => {
      const response = await request({ dpop: await proof({ iat: now() - 61 }) });
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('invalid_dpop_proof');
      expect(lastReason(t)).toBe('iat');
    });
  });

  describe('nonces (RFC 9449 §8)', () => {
    it('asks a nonce-requiring client for a nonce, then accepts the proof carrying it', async () => {
      const first = await request({ dpop: await proof() }, 'grant_type=client_credentials', 'nonce-client');
      expect(first.statusCode).toBe(400);
      expect(first.json().error).toBe('use_dpop_nonce');
      expect(lastReason(t)).toBe('nonce');
      const nonce = first.headers['dpop-nonce'];
      expect(nonce).toMatch(/^[\x21\x23-\x5B\x5D-\x7E]+$/);
      expect(first.headers['cache-control']).toBe('no-store');

      const second = await request({ dpop: await proof({ nonce: String(nonce) }) }, 'grant_type=client_credentials', 'nonce-client');
      expect(second.statusCode).toBe(200);
      expect(second.json().token_type).toBe('DPoP');
      expect(second.headers['dpop-nonce']).toBeTypeOf('string');
    });

    it('never accepts a proof without a nonce once nonces are required (RFC 9449 §11.3)', async () => {
      const response = await request({ dpop: await proof() }, 'grant_type=client_credentials', 'nonce-client');
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('use_dpop_nonce');
      expect(lastReason(t)).toBe('nonce');
    });

    it('refuses a stale nonce with use_dpop_nonce and a fresh nonce', async () => {
      const first = await request({ dpop: await proof() }, 'grant_type=client_credentials', 'nonce-client');
      const nonce = String(first.headers['dpop-nonce']);
      t.clock.advance(3 * 60_000);
      const stale = await request({ dpop: await proof({ nonce }) }, 'grant_type=client_credentials', 'nonce-client');
      expect(stale.statusCode).toBe(400);
      expect(stale.json().error).toBe('use_dpop_nonce');
      expect(lastReason(t)).toBe('nonce');
      expect(stale.headers['dpop-nonce']).not.toBe(nonce);
    });

    it('requires nonces from every client when requireNonce is set globally', async () => {
      const strict = await makeTestApp({ dpop: { requireNonce: true } });
      try {
        const response = await strict.app.inject({
          method: 'POST',
          url: '/oidc/token',
          headers: {
            ...form,
            authorization: basicAuth(serviceClient.id, serviceClient.secret),
            dpop: await makeProof(key, { htu: tokenUrl, iat: strict.clock() / 1000 }),
          },
          payload: 'grant_type=client_credentials',
        });
        expect(response.statusCode).toBe(400);
        expect(response.json().error).toBe('use_dpop_nonce');
        expect(lastReason(strict)).toBe('nonce');
        expect(response.headers['dpop-nonce']).toBeTypeOf('string');
      } finally {
        await strict.app.close();
      }
    });
  });

  describe('client authentication (RFC 6749 §2.3, §5.2)', () => {
    it('refuses a wrong secret with 401 invalid_client and a Basic challenge', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { ...form, authorization: basicAuth(serviceClient.id, 'wrong') },
        payload: 'grant_type=client_credentials',
      });
      expect(response.statusCode).toBe(401);
      expect(response.json().error).toBe('invalid_client');
      expect(lastReason(t)).toBe('client_auth');
      expect(response.headers['www-authenticate']).toBe(`Basic realm="${issuer}"`);
    });

    it('refuses an unknown client with 401 invalid_client', async () => {
      const response = await request({}, 'grant_type=client_credentials', 'nobody');
      expect(response.statusCode).toBe(401);
      expect(response.json().error).toBe('invalid_client');
      expect(lastReason(t)).toBe('client_auth');
    });

    it('accepts client_secret_post for a client registered with it', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: form,
        payload: `grant_type=client_credentials&client_id=post-client&client_secret=${encodeURIComponent(serviceClient.secret)}`,
      });
      expect(response.statusCode).toBe(200);
      expect(response.json().scope).toBe('api:read');
    });

    it('refuses client_secret_post from a client registered for client_secret_basic', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: form,
        payload: `grant_type=client_credentials&client_id=${serviceClient.id}&client_secret=${encodeURIComponent(serviceClient.secret)}`,
      });
      expect(response.statusCode).toBe(401);
      expect(response.json().error).toBe('invalid_client');
      expect(lastReason(t)).toBe('client_auth');
      expect(response.headers['www-authenticate']).toBeUndefined();
    });

    it('refuses two authentication methods in one request with invalid_request', async () => {
      const response = await request({}, `grant_type=client_credentials&client_secret=${encodeURIComponent(serviceClient.secret)}`);
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('invalid_request');
      expect(lastReason(t)).toBe('client_auth');
    });

    it('refuses a request without client authentication', async () => {
      const response = await t.app.inject({ method: 'POST', url: '/oidc/token', headers: form, payload: 'grant_type=client_credentials' });
      expect(response.statusCode).toBe(401);
      expect(response.json().error).toBe('invalid_client');
      expect(lastReason(t)).toBe('client_auth');
    });

    it('refuses a client not registered for the grant type with unauthorized_client', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { ...form, authorization: basicAuth('resource-server', 'rs-secret-0123456789abcdef-0123456789') },
        payload: 'grant_type=client_credentials',
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('unauthorized_client');
      expect(lastReason(t)).toBe('grant_type');
    });
  });

  describe('request shape (RFC 6749 §3.2, §5.2)', () => {
    it('refuses a missing grant_type with invalid_request', async () => {
      const response = await request({}, 'scope=api%3Aread');
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('invalid_request');
      expect(lastReason(t)).toBe('grant_type');
    });

    it('refuses an unknown grant_type with unsupported_grant_type', async () => {
      const response = await request({}, 'grant_type=password&username=a&password=b');
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('unsupported_grant_type');
      expect(lastReason(t)).toBe('grant_type');
    });

    it('refuses a grant_type named like an object member (constructor, __proto__, toString) with unsupported_grant_type', async () => {
      for (const grantType of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
        const response = await request({}, `grant_type=${grantType}`);
        expect(response.statusCode).toBe(400);
        expect(response.json()).toEqual({ error: 'unsupported_grant_type', error_description: `grant_type ${grantType} is not supported` });
        expect(lastReason(t)).toBe('grant_type');
      }
    });

    it('keeps error_description to the RFC 6749 §5.2 character set when it echoes client input', async () => {
      const unsupported = await request({}, 'grant_type=%22p%C3%A9%5C%0A');
      expect(unsupported.statusCode).toBe(400);
      expect(unsupported.json()).toEqual({ error: 'unsupported_grant_type', error_description: 'grant_type p is not supported' });
      expect(lastReason(t)).toBe('grant_type');
      const repeated = await request({}, 'grant_type=client_credentials&%22x%C3%A9=1&%22x%C3%A9=2');
      expect(repeated.statusCode).toBe(400);
      expect(repeated.json()).toEqual({ error: 'invalid_request', error_description: 'invalid request parameter: body/x must be string' });
      expect(lastReason(t)).toBe('schema');
    });

    it('refuses a repeated parameter with invalid_request', async () => {
      const response = await request({}, 'grant_type=client_credentials&scope=api%3Aread&scope=api%3Awrite');
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('invalid_request');
      expect(lastReason(t)).toBe('schema');
    });

    it('refuses a JSON body with invalid_request', async () => {
      const response = await request({ 'content-type': 'application/json' }, JSON.stringify({ grant_type: 'client_credentials' }));
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('invalid_request');
      expect(lastReason(t)).toBe('content_type');
    });

    it('refuses a scope the client may not have with invalid_scope', async () => {
      const response = await request({}, 'grant_type=client_credentials&scope=admin');
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('invalid_scope');
      expect(lastReason(t)).toBe('scope');
    });

    it('answers a GET with 405 and Allow: POST, never a 500 (RFC 9110 §15.5.6)', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/oidc/token' });
      expect(response.statusCode).toBe(405);
      expect(response.headers.allow).toBe('POST');
      expect(response.json()).toEqual({ error: 'invalid_request', error_description: 'method GET is not allowed here; use POST' });
      expect(lastReason(t)).toBe('method');
    });
  });
});
