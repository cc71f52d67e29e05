import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtBearerAssertionType } from '../../src/oauth/client-assertion.js';
import { basicAuth, defaultTestClients, form, issuer, makeTestApp, serviceClient, type TestApp } from '../helpers/app.js';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** What a caller sees of an answer: status, headers but the date, body. */
function seen(response: LightMyRequestResponse): { status: number; headers: Record<string, unknown>; body: string } {
  // Date and the request id differ between any two answers.
  const { date: _date, 'x-request-id': _requestId, ...headers } = response.headers;
  return { status: response.statusCode, headers, body: response.body };
}

describe('a failed client authentication does not tell whether the client exists', () => {
  let t: TestApp;
  let signingKey: PrivateKey;
  let strangerKey: PrivateKey;
  let address = 0;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    signingKey = pair.privateKey;
    strangerKey = (await generateKeyPair('ES256')).privateKey;
    const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'signed-1', alg: 'ES256' };
    t = await makeTestApp({
      clients: [
        ...defaultTestClients(),
        {
          client_id: 'signed',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [publicJwk] },
          grant_types: ['client_credentials'],
        },
      ],
    });
  });
  afterAll(() => t.app.close());

  // Each request from its own address, so the failure limits stay out of the comparison.
  const token = (headers: Record<string, string>, fields: Record<string, string>) =>
    t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      remoteAddress: `198.51.100.${++address}`,
      headers: { ...form, ...headers },
      payload: new URLSearchParams({ grant_type: 'client_credentials', ...fields }).toString(),
    });
  const basic = (clientId: string, secret: string) => token({ authorization: basicAuth(clientId, secret) }, {});
  const post = (clientId: string, secret: string) => token({}, { client_id: clientId, client_secret: secret });
  const assertion = (clientId: string, key: PrivateKey) =>
    new SignJWT({
      iss: clientId,
      sub: clientId,
      aud: `${issuer}/token`,
      jti: randomUUID(),
      iat: Math.floor(t.clock() / 1000),
      exp: Math.floor(t.clock() / 1000) + 60,
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'signed-1' })
      .sign(key);
  const withAssertion = async (clientId: string, key: PrivateKey) =>
    token({}, { client_assertion_type: jwtBearerAssertionType, client_assertion: await assertion(clientId, key) });

  it('answers Basic for an unknown client, a wrong secret, and clients registered with another method alike: 401 with a Basic challenge', async () => {
    const wrongSecret = seen(await basic(serviceClient.id, 'wrong-secret'));
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.headers['www-authenticate']).toBe(`Basic realm="${issuer}"`);
    expect(JSON.parse(wrongSecret.body)).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect(seen(await basic('no-such-client', 'wrong-secret'))).toEqual(wrongSecret);
    // post-client registered client_secret_post: even its right secret, sent with Basic, gets the same answer.
    expect(seen(await basic('post-client', serviceClient.secret))).toEqual(wrongSecret);
    expect(seen(await basic('spa', 'any-secret'))).toEqual(wrongSecret);
    expect(seen(await basic('signed', 'any-secret'))).toEqual(wrongSecret);
  });

  it('answers client_secret_post for an unknown client, a wrong secret, and another method alike: 401 without a challenge', async () => {
    const wrongSecret = seen(await post('post-client', 'wrong-secret'));
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.headers['www-authenticate']).toBeUndefined();
    expect(JSON.parse(wrongSecret.body)).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect(seen(await post('no-such-client', 'wrong-secret'))).toEqual(wrongSecret);
    expect(seen(await post(serviceClient.id, serviceClient.secret))).toEqual(wrongSecret);
    expect(seen(await post('signed', 'any-secret'))).toEqual(wrongSecret);
  });

  it('answers an assertion for an unknown client, a bad signature, and a client with a secret alike', async () => {
    const badSignature = seen(await withAssertion('signed', strangerKey));
    expect(badSignature.status).toBe(401);
    expect(badSignature.headers['www-authenticate']).toBeUndefined();
    expect(JSON.parse(badSignature.body)).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect(seen(await withAssertion('no-such-client', strangerKey))).toEqual(badSignature);
    expect(seen(await withAssertion(serviceClient.id, strangerKey))).toEqual(badSignature);
    // The client's own key still authenticates it.
    expect((await withAssertion('signed', signingKey)).statusCode).toBe(200);
  });

  it('answers a bare client_id for an unknown client and a confidential client alike', async () => {
    const confidential = seen(await token({}, { client_id: serviceClient.id }));
    expect(confidential.status).toBe(401);
    expect(JSON.parse(confidential.body)).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect(seen(await token({}, { client_id: 'no-such-client' }))).toEqual(confidential);
  });

  it('logs what the caller is not told', async () => {
    await basic('no-such-client', 'wrong-secret');
    await basic(serviceClient.id, 'wrong-secret');
    await basic('post-client', serviceClient.secret);
    const causes = t
      .logs()
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { oauthError?: { reason?: string; cause?: string } }).oauthError)
      .filter((error) => error?.reason === 'client_auth')
      .slice(-3)
      .map((error) => error!.cause);
    expect(causes).toEqual(['unknown_client', 'secret_mismatch', 'registered_for_client_secret_post']);
    expect(t.logs()).not.toContain(serviceClient.secret);
  });
});
