import { importJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, form, issuer, makeTestApp, serviceClient, type TestApp } from '../helpers/app.js';

describe('discovery and JWKS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.app.close());

  it('serves the same metadata at the OIDC and the RFC 8414 well-known URLs', async () => {
    const oidc = await t.app.inject({ method: 'GET', url: '/oidc/.well-known/openid-configuration' });
    const oauth = await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server/oidc' });
    expect(oidc.statusCode).toBe(200);
    expect(oauth.statusCode).toBe(200);
    expect(oauth.json()).toEqual(oidc.json());
    expect(oidc.json()).toMatchObject({
      issuer,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/profile`,
      introspection_endpoint: `${issuer}/introspect`,
      jwks_uri: `${issuer}/jwks`,
      dpop_signing_alg_values_supported: ['ES256', 'ES384', 'PS256', 'EdDSA', 'Ed25519'],
      authorization_endpoint: `${issuer}/authorize`,
      revocation_endpoint: `${issuer}/revoke`,
      end_session_endpoint: `${issuer}/logout`,
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
      id_token_signing_alg_values_supported: ['ES256'],
    });
    expect(oidc.json().scopes_supported).toEqual(expect.arrayContaining(['openid', 'api:read']));
    expect(oidc.json().claims_supported).toEqual(expect.arrayContaining(['sub', 'name', 'email', 'email_verified']));
    // Only the code flow is offered: no implicit, no hybrid, no plain PKCE (RFC 9700 §2.1.1, §2.1.2).
    expect(JSON.stringify(oidc.json())).not.toMatch(/"token"|id_token token|"plain"/);
  });

  it('publishes public signing keys only, with kid, alg and use, that verify issued tokens', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/oidc/jwks' });
    expect(response.statusCode).toBe(200);
    const { keys } = response.json();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(keys[0].kid).toBeTypeOf('string');
    expect(Object.keys(keys[0]).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);

    const token = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret) },
      payload: 'grant_type=client_credentials',
    });
    // What a resource server does with RFC 9068 tokens: verify locally with the published key.
    const { payload, protectedHeader } = await jwtVerify(token.json().access_token, await importJWK(keys[0], 'ES256'), {
      issuer,
      audience: issuer,
      typ: 'at+jwt',
      currentDate: new Date(t.clock()),
    });
    expect(protectedHeader.kid).toBe(keys[0].kid);
    expect(payload.sub).toBe(serviceClient.id);
  });
});
