import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, form, issuer, makeTestApp, resourceServer, serviceClient, type TestApp } from '../helpers/app.js';
import { makeProof, type ProofKey } from '../helpers/dpop.js';

describe('seed flow: DPoP token, profile, introspection', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.app.close());

  it('binds a client_credentials token to the proof key and every endpoint agrees on cnf.jkt', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const publicJwk = await exportJWK(publicKey);
    const jkt = await calculateJwkThumbprint(publicJwk, 'sha256');
    const key: ProofKey = { privateKey, publicJwk, alg: 'ES256', jkt };

    // A fractional iat is a legal NumericDate.
    const iat = t.clock() / 1000 + 0.74;
    const tokenProof = await makeProof(key, { htm: 'POST', htu: `${issuer}/token`, iat });
    const tokenResponse = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret), dpop: tokenProof },
      payload: 'grant_type=client_credentials&scope=api%3Aread',
    });
    expect(tokenResponse.statusCode).toBe(200);
    const token = tokenResponse.json();
    expect(token.token_type).toBe('DPoP');
    expect(token.scope).toBe('api:read');
    expect(token.expires_in).toBe(600);
    expect(tokenResponse.headers['cache-control']).toBe('no-store');
    // Nonces are not required here, so none is handed out (RFC 9449 §11.3).
    expect(tokenResponse.headers['dpop-nonce']).toBeUndefined();

    expect(decodeProtectedHeader(token.access_token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    const claims = decodeJwt(token.access_token);
    expect(claims.cnf).toEqual({ jkt });
    expect(claims).toMatchObject({ iss: issuer, sub: serviceClient.id, client_id: serviceClient.id, aud: issuer });

    const profileProof = await makeProof(key, {
      htm: 'GET',
      htu: `${issuer}/profile`,
      iat: t.clock() / 1000,
      accessToken: token.access_token,
    });
    const profile = await t.app.inject({
      method: 'GET',
      url: '/oidc/profile',
      headers: { authorization: `DPoP ${token.access_token}`, dpop: profileProof },
    });
    expect(profile.statusCode).toBe(200);
    expect(profile.json().sub).toBe(serviceClient.id);
    expect(profile.headers['dpop-nonce']).toBeUndefined();

    const introspection = await t.app.inject({
      method: 'POST',
      url: '/oidc/introspect',
      headers: { ...form, authorization: basicAuth(resourceServer.id, resourceServer.secret) },
      payload: `token=${token.access_token}`,
    });
    expect(introspection.statusCode).toBe(200);
    expect(introspection.json()).toMatchObject({
      active: true,
      token_type: 'DPoP',
      cnf: { jkt },
      sub: serviceClient.id,
      client_id: serviceClient.id,
      scope: 'api:read',
      iss: issuer,
      aud: issuer,
      jti: claims.jti,
      exp: claims.exp,
      iat: claims.iat,
    });
  });

  it('keeps secrets, tokens and proofs out of the logs', async () => {
    const logs = t.logs();
    expect(logs).toContain('request completed');
    // One line per request, each naming its client: the token, profile and introspection calls above.
    const requestLines = logs
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg?: string; route?: string; clientId?: string; reqId?: string })
      .filter((line) => line.msg === 'request completed');
    expect(requestLines.map((line) => [line.route, line.clientId])).toEqual([
      ['/oidc/token', serviceClient.id],
      ['/oidc/profile', serviceClient.id],
      ['/oidc/introspect', resourceServer.id],
    ]);
    expect(new Set(requestLines.map((line) => line.reqId)).size).toBe(3);
    expect(logs).not.toContain(serviceClient.secret);
    expect(logs).not.toContain(resourceServer.secret);
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });
});
