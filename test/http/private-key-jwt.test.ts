import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { jwtBearerAssertionType } from '../../src/oauth/client-assertion.js';
import { defaultTestClients, form, issuer, makeTestApp, serviceClient, type TestApp } from '../helpers/app.js';
import { lastReason } from '../helpers/protocol.js';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

describe('private_key_jwt client authentication (RFC 7523, OIDC Core §9)', () => {
  let t: TestApp;
  let privateKey: PrivateKey;
  let otherKey: PrivateKey;
  let publicJwk: JWK;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'signed-1', alg: 'ES256' };
    t = await makeTestApp({
      clients: [
        ...defaultTestClients(),
        {
          client_id: 'signed',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [publicJwk] },
          grant_types: ['client_credentials'],
          scope: 'api:read',
          introspection_allowed: true,
        },
      ],
    });
  });
  afterAll(() => t.app.close());

  const now = () => Math.floor(t.clock() / 1000);
  const assertion = (claims: Record<string, unknown> = {}, key: PrivateKey = privateKey) =>
    new SignJWT({ iss: 'signed', sub: 'signed', aud: `${issuer}/token`, jti: randomUUID(), iat: now(), exp: now() + 60, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'signed-1' })
      .sign(key);
  const token = (fields: Record<string, string>) =>
    t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: form,
      payload: new URLSearchParams({ grant_type: 'client_credentials', ...fields }).toString(),
    });
  const withAssertion = async (value: string) => token({ client_assertion_type: jwtBearerAssertionType, client_assertion: value });

  it('authenticates a client by a JWT signed with its registered key', async () => {
    const response = await withAssertion(await assertion());
    expect(response.statusCode).toBe(200);
    expect(response.json().scope).toBe('api:read');
  });

  it('accepts the issuer as audience too', async () => {
    expect((await withAssertion(await assertion({ aud: issuer }))).statusCode).toBe(200);
  });

  it('refuses a replayed assertion (jti used once, RFC 7523 §3)', async () => {
    const once = await assertion();
    expect((await withAssertion(once)).statusCode).toBe(200);
    const again = await withAssertion(once);
    expect(again.statusCode).toBe(401);
    expect(again.json()).toEqual({ error: 'invalid_client', error_description: 'client assertion has already been used' });
    expect(lastReason(t)).toBe('client_assertion');
  });

  it.each([
    ['signed by another key', async () => assertion({}, otherKey)],
    ['expired', async () => assertion({ iat: now() - 120, exp: now() - 60 })],
    ['living longer than five minutes', async () => assertion({ exp: now() + 3600 })],
    [
      'living longer than five minutes behind an iat in the future',
      async () => assertion({ iat: now() + 86_400, exp: now() + 86_400 + 60 }),
    ],
    ['for another audience', async () => assertion({ aud: 'https://other.example/token' })],
    ['with iss other than sub', async () => assertion({ iss: 'service' })],
    ['without jti', async () => assertion({ jti: undefined })],
  ])('refuses an assertion %s with 401 invalid_client', async (_name, make) => {
    const response = await withAssertion(await make());
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_client');
    expect(lastReason(t)).toBe('client_assertion');
    expect(response.headers['www-authenticate']).toBeUndefined();
  });

  it('refuses a client_id that differs from the assertion subject', async () => {
    const response = await token({
      client_id: serviceClient.id,
      client_assertion_type: jwtBearerAssertionType,
      client_assertion: await assertion(),
    });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_client');
    expect(lastReason(t)).toBe('client_auth');
  });

  it('refuses an assertion from a client registered for client secrets', async () => {
    const forged = await new SignJWT({ iss: serviceClient.id, sub: serviceClient.id, aud: issuer, jti: randomUUID(), exp: now() + 60 })
      .setProtectedHeader({ alg: 'ES256' })
      .sign(privateKey);
    const response = await withAssertion(forged);
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_client');
    expect(lastReason(t)).toBe('client_auth');
  });

  it('refuses another assertion type, and an assertion with a secret, with invalid_request', async () => {
    const wrongType = await token({ client_assertion_type: 'urn:example:saml', client_assertion: await assertion() });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().error).toBe('invalid_request');
    expect(lastReason(t)).toBe('client_auth');
    const twoMethods = await token({
      client_assertion_type: jwtBearerAssertionType,
      client_assertion: await assertion(),
      client_secret: 'x',
    });
    expect(twoMethods.statusCode).toBe(400);
    expect(twoMethods.json().error).toBe('invalid_request');
    expect(lastReason(t)).toBe('client_auth');
  });

  it('refuses a malformed assertion with invalid_client', async () => {
    const response = await withAssertion('not-a-jwt');
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_client');
    expect(lastReason(t)).toBe('client_auth');
  });

  it('authenticates at the introspection endpoint too, with the endpoint as audience', async () => {
    const accessToken = (await withAssertion(await assertion())).json().access_token;
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/introspect',
      headers: form,
      payload: new URLSearchParams({
        token: accessToken,
        client_assertion_type: jwtBearerAssertionType,
        client_assertion: await assertion({ aud: `${issuer}/introspect` }),
      }).toString(),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ active: true, client_id: 'signed' });
  });

  it('advertises private_key_jwt and its algorithms in discovery', async () => {
    const metadata = (await t.app.inject({ method: 'GET', url: '/oidc/.well-known/openid-configuration' })).json();
    expect(metadata.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).toContain('ES256');
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).not.toContain('HS256');
  });

  it('refuses a private_key_jwt client without jwks, or with a private key in it, at start-up', () => {
    const base = { client_id: 'c', token_endpoint_auth_method: 'private_key_jwt', grant_types: ['client_credentials'] };
    expect(() => parseConfig({ clients: [base] })).toThrow(/clients\.0\.jwks: required for private_key_jwt/);
    expect(() => parseConfig({ clients: [{ ...base, jwks: { keys: [{ kty: 'EC', d: 'secret' }] } }] })).toThrow(
      /clients\.0\.jwks\.keys\.0: must be a public key/,
    );
  });
});
