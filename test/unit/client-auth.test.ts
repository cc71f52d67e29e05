import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { jwtBearerAssertionType, verifyClientAssertion, type ClientAssertionDeps } from '../../src/oauth/client-assertion.js';
import {
  authenticateClient,
  decoyAssertionClient,
  type ClientAuthDeps,
  type ClientCredentialsInput,
  type CredentialVerifiers,
} from '../../src/oauth/client-auth.js';
import { ClientAuthLimiter } from '../../src/oauth/client-auth-limiter.js';
import { StaticClientRegistry } from '../../src/oauth/clients.js';
import { OAuthError } from '../../src/lib/oauth-error.js';
import { MemoryFailureCounter } from '../../src/stores/memory/failure-counter.js';
import { MemoryReplayCache } from '../../src/stores/memory/replay-cache.js';
import { decoySecretHash, hashClientSecret, verifySecret } from '../../src/users/secret-hash.js';
import { basicAuth, testClock } from '../helpers/app.js';
import { expectOAuthError } from '../helpers/protocol.js';

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
        {
          client_id: 'signed',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), alg: 'ES256' }] },
        },
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
  // One answer whatever the cause; the Basic challenge is the edge's, from the request (RFC 6749 §5.2).
  const failed = () => ({ code: 'invalid_client', message: 'client authentication failed' });

  it.each([
    ['an unknown client with Basic', { authorization: basicAuth('nobody', secret) }],
    ['an unknown client with client_secret_post', { clientId: 'nobody', clientSecret: secret }],
    ['a client_secret_post client with Basic and its right secret', { authorization: basicAuth('post-client', secret) }],
    ['a client_secret_basic client with client_secret_post and its right secret', { clientId: 'basic-client', clientSecret: secret }],
    ['a public client with a secret', { authorization: basicAuth('public', secret) }],
    ['a private_key_jwt client with a secret', { clientId: 'signed', clientSecret: secret }],
  ] as const)('checks %s against the decoy hash, and fails it like a wrong secret', async (_case, input) => {
    expect(await attempt(input)).toMatchObject(failed());
    expect(verifiers.secretHashes).toEqual([decoySecretHash]);
  });

  it('checks a wrong secret against the client’s own hash, with the same answer', async () => {
    expect(await attempt({ authorization: basicAuth('basic-client', 'wrong') })).toMatchObject(failed());
    expect(verifiers.secretHashes).toEqual([basicHash]);
    expect(await attempt({ authorization: basicAuth('basic-client', secret) })).toBe('basic-client');
  });

  it.each([
    ['an unknown client', 'nobody'],
    ['a client registered with a secret', 'basic-client'],
    ['a public client', 'public'],
  ])('verifies an assertion for %s against the decoy key, and fails it like a bad signature', async (_case, clientId) => {
    const input = { clientAssertionType: jwtBearerAssertionType, clientAssertion: await assertionFor(clientId) };
    expect(await attempt(input)).toMatchObject(failed());
    expect(verifiers.assertionClients).toEqual(['(decoy)']);
  });

  it('verifies an assertion for a private_key_jwt client against its keys', async () => {
    const input = { clientAssertionType: jwtBearerAssertionType, clientAssertion: await assertionFor('signed') };
    expect(await attempt(input)).toBe('signed');
    expect(verifiers.assertionClients).toEqual(['signed']);
  });

  it('fails a bare client_id of an unknown or a confidential client alike, with no check to run', async () => {
    expect(await attempt({ clientId: 'nobody' })).toMatchObject(failed());
    expect(await attempt({ clientId: 'basic-client' })).toMatchObject(failed());
    expect(verifiers.secretHashes).toEqual([]);
    expect(await attempt({ clientId: 'public' })).toBe('public');
  });
});

describe('authenticateClient refusals: the code says what the client did wrong, the reason and cause say what the log keeps', () => {
  const clock = testClock();
  const oddSecret = 'with:colon+plus %20 and é';
  let deps: ClientAuthDeps & { assertions: ClientAssertionDeps };

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    const config = parseConfig({
      clients: [
        { client_id: 'basic-client', client_secret_hash: hashClientSecret(secret), token_endpoint_auth_method: 'client_secret_basic' },
        { client_id: 'odd id:1', client_secret_hash: hashClientSecret(oddSecret), token_endpoint_auth_method: 'client_secret_basic' },
        { client_id: 'post-client', client_secret_hash: hashClientSecret(secret), token_endpoint_auth_method: 'client_secret_post' },
        {
          client_id: 'signed',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), alg: 'ES256' }] },
        },
      ],
    });
    deps = {
      clients: new StaticClientRegistry(config.clients),
      assertions: { audiences: [audience], replayCache: new MemoryReplayCache(1000, clock), clock },
    };
  });

  const assertionFor = (subject: string) =>
    new SignJWT({ iss: subject, sub: subject, aud: audience, jti: randomUUID(), exp: clock() / 1000 + 60 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('a-shared-secret-nobody-registered-0123'));

  it('decodes client_id and secret as form-urlencoded before Base64 (RFC 6749 §2.3.1)', async () => {
    expect((await authenticateClient({ authorization: basicAuth('odd id:1', oddSecret) }, deps)).client_id).toBe('odd id:1');
  });

  it.each([
    ['Base64 that is not Base64', 'Basic !!!'],
    ['no colon between id and secret', `Basic ${Buffer.from('basic-client').toString('base64')}`],
    ['a bad percent-encoding', `Basic ${Buffer.from('basic-client:%E0%A4%A').toString('base64')}`],
  ])('refuses a Basic header with %s as invalid_client (RFC 6749 §2.3.1; the edge challenges with Basic)', async (_case, authorization) => {
    await expectOAuthError(authenticateClient({ authorization }, deps), 'invalid_client', 'client_auth');
  });

  it.each<[string, ClientCredentialsInput]>([
    ['Basic and client_secret', { authorization: basicAuth('basic-client', secret), clientSecret: secret }],
    [
      'an assertion and Basic',
      { authorization: basicAuth('basic-client', secret), clientAssertionType: jwtBearerAssertionType, clientAssertion: 'x.y.z' },
    ],
    ['an assertion and client_secret', { clientSecret: secret, clientAssertionType: jwtBearerAssertionType, clientAssertion: 'x.y.z' }],
  ])('refuses %s in one request with invalid_request (RFC 6749 §2.3: one method per request)', async (_case, input) => {
    const error = await expectOAuthError(authenticateClient(input, deps), 'invalid_request', 'client_auth');
    expect(error.message).toBe('use only one client authentication method');
  });

  it('refuses a client_id parameter that names another client than Basic does, with invalid_request', async () => {
    await expectOAuthError(
      authenticateClient({ authorization: basicAuth('basic-client', secret), clientId: 'post-client' }, deps),
      'invalid_request',
      'client_auth',
    );
  });

  it('refuses another client_assertion_type, and an assertion type without assertion, with invalid_request (RFC 7521 §4.2)', async () => {
    await expectOAuthError(
      authenticateClient({ clientAssertionType: 'urn:other', clientAssertion: await assertionFor('signed') }, deps),
      'invalid_request',
      'client_auth',
    );
    const missing = await expectOAuthError(
      authenticateClient({ clientAssertionType: jwtBearerAssertionType }, deps),
      'invalid_request',
      'client_auth',
    );
    expect(missing.message).toBe('client_assertion is required');
  });

  it('refuses an assertion that is not a JWT, or that names another client than client_id, with invalid_client', async () => {
    await expectOAuthError(
      authenticateClient({ clientAssertionType: jwtBearerAssertionType, clientAssertion: 'not-a-jwt' }, deps),
      'invalid_client',
      'client_auth',
    );
    const input = { clientId: 'signed', clientAssertionType: jwtBearerAssertionType, clientAssertion: await assertionFor('someone-else') };
    await expectOAuthError(authenticateClient(input, deps), 'invalid_client', 'client_auth');
  });

  it('refuses an assertion with a symmetric alg (RFC 7523 §3: the client’s registered key), as a failed assertion', async () => {
    const input = { clientAssertionType: jwtBearerAssertionType, clientAssertion: await assertionFor('signed') };
    await expectOAuthError(authenticateClient(input, deps), 'invalid_client', 'client_assertion');
  });

  it('refuses a private_key_jwt client when assertions are not configured, with the real cause kept for the log', async () => {
    const input = { clientAssertionType: jwtBearerAssertionType, clientAssertion: await assertionFor('signed') };
    const error = await expectOAuthError(authenticateClient(input, { clients: deps.clients }), 'invalid_client', 'client_auth');
    expect(error.logDetail).toEqual({ cause: 'assertions_disabled' });
  });

  it.each<[string, ClientCredentialsInput, string]>([
    ['a wrong secret', { authorization: basicAuth('basic-client', 'wrong') }, 'secret_mismatch'],
    ['an unknown client', { authorization: basicAuth('nobody', secret) }, 'unknown_client'],
    ['a client registered for another method', { clientId: 'basic-client', clientSecret: secret }, 'registered_for_client_secret_basic'],
  ])('keeps the cause of %s in logDetail, never in the answer', async (_case, input, cause) => {
    const error = await expectOAuthError(authenticateClient(input, deps), 'invalid_client', 'client_auth');
    expect(error.message).toBe('client authentication failed');
    expect(error.logDetail).toEqual({ cause });
  });
});

describe('authenticateClient with the failure limiter (client-auth-limiter.ts)', () => {
  let clock: ReturnType<typeof testClock>;
  let deps: ClientAuthDeps;
  beforeEach(() => {
    clock = testClock();
    const config = parseConfig({
      clients: [
        { client_id: 'basic-client', client_secret_hash: hashClientSecret(secret), token_endpoint_auth_method: 'client_secret_basic' },
      ],
    });
    deps = {
      clients: new StaticClientRegistry(config.clients),
      clientAuthLimiter: new ClientAuthLimiter(new MemoryFailureCounter(1000, clock), {
        maxFailuresPerClient: 2,
        maxFailuresPerAddress: 5,
        windowSeconds: 60,
      }),
    };
  });
  const attempt = (password: string, address = '192.0.2.1') =>
    authenticateClient({ authorization: basicAuth('basic-client', password), address }, deps);

  it('refuses every attempt for a client at its bound with 429 client_auth_rate_limited, the right secret included', async () => {
    await expectOAuthError(attempt('wrong'), 'invalid_client', 'client_auth');
    await expectOAuthError(attempt('wrong', '192.0.2.2'), 'invalid_client', 'client_auth');
    const blocked = await expectOAuthError(attempt(secret, '192.0.2.3'), 'temporarily_unavailable', 'client_auth_rate_limited');
    // A Retry-After is what the edge answers as 429 (RFC 6585 §4).
    expect(blocked.retryAfterSeconds).toBe(60);
    clock.advance(60_000);
    expect((await attempt(secret)).client_id).toBe('basic-client');
  });

  it('counts neither successes nor malformed requests (invalid_request) as failures', async () => {
    for (let index = 0; index < 3; index++) {
      expect((await attempt(secret)).client_id).toBe('basic-client');
      await expectOAuthError(
        authenticateClient({ authorization: basicAuth('basic-client', secret), clientSecret: secret, address: '192.0.2.1' }, deps),
        'invalid_request',
        'client_auth',
      );
    }
    await expectOAuthError(attempt('wrong'), 'invalid_client', 'client_auth');
    await expectOAuthError(attempt('wrong'), 'invalid_client', 'client_auth');
    await expectOAuthError(attempt(secret), 'temporarily_unavailable', 'client_auth_rate_limited');
  });
});
