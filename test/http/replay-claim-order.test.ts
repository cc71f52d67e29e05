import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { jwtBearerAssertionType } from '../../src/oauth/client-assertion.js';
import { createStores, type Stores } from '../../src/stores/create-stores.js';
import type { ReplayCache } from '../../src/stores/ports.js';
import { basicAuth, defaultTestClients, form, issuer, makeTestApp, serviceClient, testClock, type TestApp } from '../helpers/app.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';

/**
 * RFC 9449 §11.1: the replay cache is shared by every client, so a request claims its proof's
 * jti only after every check an unauthenticated caller can fail (client authentication, the
 * code or refresh token, the access token and its binding). Junk requests with fresh proofs
 * then never fill it. The stores are the real in-memory ones; the replay cache is watched.
 */
async function watchedStores(): Promise<{ stores: Stores; claims: Array<{ owner: string }> }> {
  const stores = await createStores(parseConfig({}).store, { replayCacheMaxEntries: 10_000 }, testClock());
  const claims: Array<{ owner: string }> = [];
  const inner = stores.replayCache;
  const replayCache: ReplayCache = {
    claim: (key, ttlMs, owner) => {
      claims.push({ owner });
      return inner.claim(key, ttlMs, owner);
    },
  };
  return { stores: { ...stores, replayCache }, claims };
}

function reasons(logs: string): string[] {
  return logs
    .split('\n')
    .filter((line) => line.includes('"oauthError"'))
    .map((line) => JSON.parse(line).oauthError.reason as string);
}

describe('a DPoP proof is claimed only after every check an unauthenticated caller can fail', () => {
  let t: TestApp;
  let claims: Array<{ owner: string }>;
  let key: ProofKey;
  let otherKey: ProofKey;
  const now = () => t.clock() / 1000;
  const tokenUrl = `${issuer}/token`;
  const profileUrl = `${issuer}/profile`;

  beforeAll(async () => {
    const watched = await watchedStores();
    claims = watched.claims;
    t = await makeTestApp({}, { stores: watched.stores });
    key = await makeProofKey();
    otherKey = await makeProofKey();
  });
  afterAll(() => t.app.close());

  const tokenRequest = async (authorization: string, payload: string, proofKey = key) =>
    t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { ...form, authorization, dpop: await makeProof(proofKey, { htu: tokenUrl, iat: now() }) },
      payload,
    });
  const profile = async (token: string, proofKey = key) =>
    t.app.inject({
      method: 'GET',
      url: '/oidc/profile',
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await makeProof(proofKey, { htm: 'GET', htu: profileUrl, iat: now(), accessToken: token }),
      },
    });
  const dpopToken = async () => {
    const response = await tokenRequest(basicAuth(serviceClient.id, serviceClient.secret), 'grant_type=client_credentials');
    expect(response.statusCode).toBe(200);
    return response.json().access_token as string;
  };

  it('charges a client_credentials proof to the authenticated client', async () => {
    claims.length = 0;
    await dpopToken();
    expect(claims).toEqual([{ owner: 'client:service' }]);
  });

  it('does not claim for a request whose client authentication fails', async () => {
    claims.length = 0;
    const response = await tokenRequest(basicAuth(serviceClient.id, 'wrong-secret'), 'grant_type=client_credentials');
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toBe('invalid_client');
    expect(claims).toEqual([]);
  });

  it('does not claim for an authorization_code request with a bogus code (public client)', async () => {
    claims.length = 0;
    const response = await tokenRequest(
      '',
      new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: 'spa',
        code: 'bogus',
        redirect_uri: 'https://spa.example.test/callback',
        code_verifier: 'v'.repeat(43),
      }).toString(),
    );
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_grant');
    expect(reasons(t.logs()).at(-1)).toBe('code');
    expect(claims).toEqual([]);
  });

  it('does not claim for a refresh_token request with a bogus refresh token', async () => {
    claims.length = 0;
    const response = await tokenRequest('', 'grant_type=refresh_token&client_id=spa&refresh_token=bogus');
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('invalid_grant');
    expect(reasons(t.logs()).at(-1)).toBe('refresh_token');
    expect(claims).toEqual([]);
  });

  it('charges a profile proof to the token it travels with', async () => {
    const token = await dpopToken();
    claims.length = 0;
    const response = await profile(token);
    expect(response.statusCode).toBe(200);
    expect(claims).toEqual([{ owner: 'token:service\nservice' }]);
  });

  it('does not claim at the profile endpoint for a token bound to another key', async () => {
    const token = await dpopToken();
    claims.length = 0;
    const response = await profile(token, otherKey);
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token"/);
    expect(reasons(t.logs()).at(-1)).toBe('jkt');
    expect(claims).toEqual([]);
  });

  it('does not claim at the profile endpoint for a revoked token', async () => {
    const token = await dpopToken();
    const revoked = await t.app.inject({
      method: 'POST',
      url: '/oidc/revoke',
      headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret) },
      payload: `token=${token}&token_type_hint=access_token`,
    });
    expect(revoked.statusCode).toBe(200);
    claims.length = 0;
    const response = await profile(token);
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token"/);
    expect(claims).toEqual([]);
  });

  it('does not claim at the profile endpoint for a token with a bad signature', async () => {
    const token = await dpopToken();
    const [header, payload, signature] = token.split('.');
    const forged = `${header}.${payload}.${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
    claims.length = 0;
    const response = await profile(forged);
    expect(response.statusCode).toBe(401);
    expect(claims).toEqual([]);
  });
});

describe('after a start with the replay cache in memory, proofs and assertions made before it are refused', () => {
  let t: TestApp;
  let key: ProofKey;
  let assertionKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    assertionKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
    // Built with its own in-memory stores, as the embedded default starts.
    t = await makeTestApp({
      clients: [
        ...defaultTestClients(),
        { client_id: 'signed', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] }, grant_types: ['client_credentials'] },
      ],
    });
    key = await makeProofKey();
  });
  afterAll(() => t.app.close());

  const startSeconds = () => Math.floor(t.clock() / 1000);
  const token = async (iat: number) =>
    t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: {
        ...form,
        authorization: basicAuth(serviceClient.id, serviceClient.secret),
        dpop: await makeProof(key, { htu: `${issuer}/token`, iat }),
      },
      payload: 'grant_type=client_credentials',
    });
  const withAssertion = async (iat: number | undefined, exp: number) =>
    t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: form,
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: jwtBearerAssertionType,
        client_assertion: await new SignJWT({
          iss: 'signed',
          sub: 'signed',
          aud: `${issuer}/token`,
          jti: randomUUID(),
          exp,
          ...(iat === undefined ? {} : { iat }),
        })
          .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
          .sign(assertionKey),
      }).toString(),
    });

  it('refuses a proof made 10 s before the start, inside the iat window (RFC 9449 §11.1)', async () => {
    const response = await token(startSeconds() - 10);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      error: 'invalid_dpop_proof',
      error_description: 'DPoP proof was made before the server started; make a new one',
    });
    expect(reasons(t.logs()).at(-1)).toBe('iat');
  });

  it('accepts a proof made in the start second', async () => {
    expect((await token(startSeconds())).statusCode).toBe(200);
  });

  it('refuses a client assertion made before the start, and one whose age cannot be known (no iat)', async () => {
    const before = await withAssertion(startSeconds() - 10, startSeconds() + 50);
    expect(before.statusCode).toBe(401);
    expect(before.json().error).toBe('invalid_client');
    const noIat = await withAssertion(undefined, startSeconds() + 60);
    expect(noIat.statusCode).toBe(401);
  });

  it('accepts a client assertion made after the start', async () => {
    t.clock.advance(1000);
    expect((await withAssertion(startSeconds(), startSeconds() + 60)).statusCode).toBe(200);
  });
});
