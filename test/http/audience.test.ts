import { decodeJwt } from 'jose';
import { signCompactJws } from '../../src/tokens/jws.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, form, issuer, makeTestApp, resourceServer, serviceClient, testSigningKeys, type TestApp } from '../helpers/app.js';
import { lastReason } from '../helpers/protocol.js';

const api = 'https://api.example.test';

describe('access token audience (RFC 9068 §3, §4)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ accessToken: { ttlSeconds: 600, audience: api } });
  });
  afterAll(() => t.app.close());

  const token = async () =>
    (
      await t.app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret) },
        payload: 'grant_type=client_credentials',
      })
    ).json().access_token as string;

  it('names the configured resource server and the issuer (whose profile endpoint is a resource)', async () => {
    const accessToken = await token();
    expect(decodeJwt(accessToken).aud).toEqual([api, issuer]);
    const profile = await t.app.inject({ method: 'GET', url: '/oidc/profile', headers: { authorization: `Bearer ${accessToken}` } });
    expect(profile.statusCode).toBe(200);
    const introspection = await t.app.inject({
      method: 'POST',
      url: '/oidc/introspect',
      headers: { ...form, authorization: basicAuth(resourceServer.id, resourceServer.secret) },
      payload: `token=${accessToken}`,
    });
    expect(introspection.json()).toMatchObject({ active: true, aud: [api, issuer] });
  });

  it('refuses at the profile endpoint a token of ours meant only for another resource', async () => {
    const keys = await testSigningKeys();
    const iat = Math.floor(t.clock() / 1000);
    const foreign = signCompactJws(
      { typ: 'at+jwt' },
      { iss: issuer, sub: 'service', aud: api, client_id: 'service', scope: '', iat, exp: iat + 60, jti: 'j1' },
      keys.current,
    );
    const response = await t.app.inject({ method: 'GET', url: '/oidc/profile', headers: { authorization: `Bearer ${foreign}` } });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_token');
    expect(lastReason(t)).toBe('invalid');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="[^"]+", error="invalid_token"/);
  });
});
