import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, form, issuer, makeTestApp, resourceServer, serviceClient, type TestApp } from '../helpers/app.js';
import { revokeRequest } from '../helpers/endpoints.js';
import { lastReason } from '../helpers/protocol.js';

describe('POST /oidc/introspect (RFC 7662)', () => {
  let t: TestApp;
  let bearerToken: string;

  const introspect = (payload: string, authorization = basicAuth(resourceServer.id, resourceServer.secret)) =>
    t.app.inject({ method: 'POST', url: '/oidc/introspect', headers: { ...form, authorization }, payload });

  beforeAll(async () => {
    t = await makeTestApp();
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret) },
      payload: 'grant_type=client_credentials&scope=api%3Awrite',
    });
    bearerToken = response.json().access_token;
  });
  afterAll(() => t.app.close());

  it('describes an active Bearer token without cnf', async () => {
    const response = await introspect(`token=${bearerToken}&token_type_hint=access_token`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ active: true, token_type: 'Bearer', scope: 'api:write', client_id: serviceClient.id, iss: issuer });
    expect(body.cnf).toBeUndefined();
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('answers {"active": false} for a malformed token, with 200 (RFC 7662 §2.2)', async () => {
    const response = await introspect('token=garbage');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ active: false });
  });

  it('answers {"active": false} for a token signed by someone else', async () => {
    const [header, payload] = bearerToken.split('.');
    const response = await introspect(`token=${header}.${payload}.${'A'.repeat(86)}`);
    expect(response.json()).toEqual({ active: false });
  });

  it('answers {"active": false} for an expired token', async () => {
    const later = await makeTestApp();
    try {
      const issued = await later.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret) },
        payload: 'grant_type=client_credentials',
      });
      later.clock.advance(601_000);
      const response = await later.app.inject({
        method: 'POST',
        url: '/oidc/introspect',
        headers: { ...form, authorization: basicAuth(resourceServer.id, resourceServer.secret) },
        payload: `token=${issued.json().access_token}`,
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ active: false });
    } finally {
      await later.app.close();
    }
  });

  it('answers {"active": false} at once for a token revoked after it was introspected (the verified-token cache asks the denylist every call)', async () => {
    const issued = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret) },
      payload: 'grant_type=client_credentials',
    });
    const token = issued.json().access_token as string;
    expect((await introspect(`token=${token}`)).json()).toMatchObject({ active: true });
    expect((await introspect(`token=${token}`)).json()).toMatchObject({ active: true });
    const revoked = await revokeRequest(t, { token }, { authorization: basicAuth(serviceClient.id, serviceClient.secret) });
    expect(revoked.statusCode).toBe(200);
    const response = await introspect(`token=${token}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ active: false });
  });

  it('answers {"active": false} for a token introspected while valid, once it has expired', async () => {
    const later = await makeTestApp();
    try {
      const issued = await later.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret) },
        payload: 'grant_type=client_credentials',
      });
      const ask = () =>
        later.app.inject({
          method: 'POST',
          url: '/oidc/introspect',
          headers: { ...form, authorization: basicAuth(resourceServer.id, resourceServer.secret) },
          payload: `token=${issued.json().access_token}`,
        });
      expect((await ask()).json()).toMatchObject({ active: true });
      later.clock.advance(601_000);
      expect((await ask()).json()).toEqual({ active: false });
    } finally {
      await later.app.close();
    }
  });

  it('refuses a caller with wrong credentials with 401 invalid_client (RFC 7662 §2.3)', async () => {
    const response = await introspect(`token=${bearerToken}`, basicAuth(resourceServer.id, 'wrong'));
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_client');
    expect(lastReason(t)).toBe('client_auth');
    expect(response.headers['www-authenticate']).toBe(`Basic realm="${issuer}"`);
  });

  it('refuses an unauthenticated caller (RFC 7662 §2.1, against token scanning)', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/oidc/introspect', headers: form, payload: `token=${bearerToken}` });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_client');
    expect(lastReason(t)).toBe('client_auth');
  });

  it('refuses a client that is not allowed to introspect with unauthorized_client', async () => {
    const response = await introspect(`token=${bearerToken}`, basicAuth(serviceClient.id, serviceClient.secret));
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('unauthorized_client');
    expect(lastReason(t)).toBe('introspection');
  });

  it('refuses a request without token with invalid_request', async () => {
    const response = await introspect('token_type_hint=access_token');
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_request');
    expect(lastReason(t)).toBe('token');
  });
});
