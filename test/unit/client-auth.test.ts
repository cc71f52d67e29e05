import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { jwtBearerAssertionType, verifyClientAssertion, type ClientAssertionDeps } from '../../src/oauth/client-assertion.js';
import {
  authenticateClient,
  decoyAssertionClient,
  type ClientAuthDeps,
  type ClientCredentialsInput,
  type CredentialVerifiers,
} from '../../src/oauth/client-auth.js';
import { StaticClientRegistry } from '../../src/oauth/clients.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { MemoryReplayCache } from '../../src/stores/memory/replay-cache.js';
import { decoySecretHash, hashClientSecret, verifySecret } from '../../src/users/secret-hash.js';
import { basicAuth, testClock } from '../helpers/app.js';

const secret = 'a-client-secret-0123456789abcdef-0123';
const audience = 'https://op.example.test/oidc/token';

/** The real verifiers, recording which stored hash or which client each check ran against. */
function recordingVerifiers(): CredentialVerifiers & { secretHashes: string[]; assertionClients: string[] } {
  const secretHashes: string[] = [];
  const assertionClients: string[] = [];
  return {
    secretHashes,
    assertionClients,
    secret: (value, hash) => {
      secretHashes.push(hash);
      return verifySecret(value, hash);
    },
    assertion: (assertion, client, deps) => {
      assertionClients.push(client === decoyAssertionClient ? '(decoy)' : client.client_id);
      return verifyClientAssertion(assertion, client, deps);
    },
  };
}

describe('authenticateClient does the same work for an unknown client as for a wrong secret', () => {
  const clock = testClock();
  const basicHash = hashClientSecret(secret);
  const postHash = hashClientSecret(secret);
  let signKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  let deps: ClientAuthDeps & { assertions: ClientAssertionDeps };
  let verifiers: ReturnType<typeof recordingVerifiers>;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    signKey = pair.privateKey;
    const config = parseConfig({
      clients: [
        { client_id: 'basic-client', client_secret_hash: basicHash, token_endpoint_auth_method: 'client_secret_basic' },
        { client_id: 'post-client', client_secret_hash: postHash, token_endpoint_auth_method: 'client_secret_post' },
        { client_id: 'public', token_endpoint_auth_method: 'none', grant_types: ['refresh_token'] },
        { client_id: 'signed', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), alg: 'ES256' }] } },
      ],
    });
    deps = {
      clients: new StaticClientRegistry(config.clients),
      assertions: { audiences: [audience], replayCache: new MemoryReplayCache(1000, clock), clock },
    };
  });

  const attempt = async (input: ClientCredentialsInput): Promise<OAuthError | string> => {
    verifiers = recordingVerifiers();
    try {
      return (await authenticateClient(input, { ...deps, verifiers })).client_id;
    } catch (error) {
      if (error instanceof OAuthError) return error;
      throw error;
    }
  };
  const assertionFor = (clientId: string) =>
    new SignJWT({ iss: clientId, sub: clientId, aud: audience, jti: randomUUID(), iat: clock() / 1000, exp: clock() / 1000 + 60 })
      .setProtectedHeader({ alg: 'ES256' })
      .sign(signKey);
  const failed = (basic: boolean) => ({ code: 'invalid_client', message: 'client authentication failed', basicChallenge: basic });

  it.each([
    ['an unknown client with Basic', { authorization: basicAuth('nobody', secret) }, true],
    ['an unknown client with client_secret_post', { clientId: 'nobody', clientSecret: secret }, false],
    ['a client_secret_post client with Basic and its right secret', { authorization: basicAuth('post-client', secret) }, true],
    ['a client_secret_basic client with client_secret_post and its right secret', { clientId: 'basic-client', clientSecret: secret }, false],
    ['a public client with a secret', { authorization: basicAuth('public', secret) }, true],
    ['a private_key_jwt client with a secret', { clientId: 'signed', clientSecret: secret }, false],
  ] as const)('checks %s against the decoy hash, and fails it like a wrong secret', async (_case, input, basic) => {
    expect(await attempt(input)).toMatchObject(failed(basic));
    expect(verifiers.secretHashes).toEqual([decoySecretHash]);
  });

  it('checks a wrong secret against the client’s own hash, with the same answer', async () => {
    expect(await attempt({ authorization: basicAuth('basic-client', 'wrong') })).toMatchObject(failed(true));
    expect(verifiers.secretHashes).toEqual([basicHash]);
    expect(await attempt({ authorization: basicAuth('basic-client', secret) })).toBe('basic-client');
  });

  it.each([
    ['an unknown client', 'nobody'],
    ['a client registered with a secret', 'basic-client'],
    ['a public client', 'public'],
  ])('verifies an assertion for %s against the decoy key, and fails it like a bad signature', async (_case, clientId) => {
    const input = { clientAssertionType: jwtBearerAssertionType, clientAssertion: await assertionFor(clientId) };
    expect(await attempt(input)).toMatchObject(failed(false));
    expect(verifiers.assertionClients).toEqual(['(decoy)']);
  });

  it('verifies an assertion for a private_key_jwt client against its keys', async () => {
    const input = { clientAssertionType: jwtBearerAssertionType, clientAssertion: await assertionFor('signed') };
    expect(await attempt(input)).toBe('signed');
    expect(verifiers.assertionClients).toEqual(['signed']);
  });

  it('fails a bare client_id of an unknown or a confidential client alike, with no check to run', async () => {
    expect(await attempt({ clientId: 'nobody' })).toMatchObject(failed(false));
    expect(await attempt({ clientId: 'basic-client' })).toMatchObject(failed(false));
    expect(verifiers.secretHashes).toEqual([]);
    expect(await attempt({ clientId: 'public' })).toBe('public');
  });
});
