import { decodeJwt } from 'jose';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GrantHandler } from '../../src/oauth/grants/grant.js';
import { isPromise } from '../../src/lib/maybe-promise.js';
import { handleTokenRequest } from '../../src/oauth/token-endpoint.js';
import { hashClientSecret } from '../../src/users/secret-hash.js';
import { basicAuth, serviceClient } from '../helpers/app.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { expectOAuthError, protocolFixture, storeWrites, type ProtocolFixture } from '../helpers/protocol.js';

const service = basicAuth(serviceClient.id, serviceClient.secret);
const asClient = (clientId: string) => basicAuth(clientId, serviceClient.secret);
const clientCredentials = { grant_type: 'client_credentials' };

let key: ProofKey;
let otherKey: ProofKey;
beforeAll(async () => {
  [key, otherKey] = await Promise.all([makeProofKey(), makeProofKey()]);
});

describe('handleTokenRequest: the request before any grant runs (RFC 6749 §3.2, §5.2)', () => {
  let f: ProtocolFixture;
  beforeEach(async () => {
    f = await protocolFixture();
  });

  it('refuses a request without grant_type with invalid_request (RFC 6749 §4.4.2: grant_type REQUIRED)', async () => {
    await expectOAuthError(f.token({}, { authorization: service }), 'invalid_request', 'grant_type');
  });

  it('refuses an unknown grant_type with unsupported_grant_type, before authenticating the client (RFC 6749 §5.2)', async () => {
    await expectOAuthError(
      f.token({ grant_type: 'password' }, { authorization: basicAuth(serviceClient.id, 'wrong') }),
      'unsupported_grant_type',
      'grant_type',
    );
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'does not take the object member %s for a grant handler',
    async (grantType) => {
      await expectOAuthError(f.token({ grant_type: grantType }, { authorization: service }), 'unsupported_grant_type', 'grant_type');
    },
  );

  it('refuses a wrong client secret with invalid_client (RFC 6749 §5.2; the edge challenges with Basic)', async () => {
    await expectOAuthError(
      f.token(clientCredentials, { authorization: basicAuth(serviceClient.id, 'wrong') }),
      'invalid_client',
      'client_auth',
    );
  });

  it('refuses a grant type the client is not registered for with unauthorized_client (RFC 6749 §5.2)', async () => {
    await expectOAuthError(
      f.token(clientCredentials, { authorization: basicAuth('resource-server', 'rs-secret-0123456789abcdef-0123456789') }),
      'unauthorized_client',
      'grant_type',
    );
  });

  it('refuses a token request without a proof from a dpop_bound_access_tokens client (RFC 9449 §5.2)', async () => {
    await expectOAuthError(f.token(clientCredentials, { authorization: asClient('bound-client') }), 'invalid_dpop_proof', 'missing');
  });

  it('refuses two DPoP header fields (RFC 9449 §4.3 check 1)', async () => {
    const request = { params: clientCredentials, authorization: service, dpopHeaders: [await f.proof(key), await f.proof(key)] };
    await expectOAuthError(handleTokenRequest(request, f.tokenDeps), 'invalid_dpop_proof', 'multiple');
  });

  it('refuses a proof for another URL (RFC 9449 §4.3 check 9), with the htu compared to the configured token URL', async () => {
    await expectOAuthError(
      f.token(clientCredentials, { authorization: service, dpop: await f.proof(key, { htu: 'https://evil.example/oidc/token' }) }),
      'invalid_dpop_proof',
      'htu',
    );
  });

  it('refuses a proof for another method (RFC 9449 §4.3 check 8)', async () => {
    await expectOAuthError(
      f.token(clientCredentials, { authorization: service, dpop: await f.proof(key, { htm: 'GET' }) }),
      'invalid_dpop_proof',
      'htm',
    );
  });

  it('asks a dpop_require_nonce client for a nonce with use_dpop_nonce and a fresh DPoP-Nonce (RFC 9449 §8)', async () => {
    const error = await expectOAuthError(
      f.token(clientCredentials, { authorization: asClient('nonce-client'), dpop: key }),
      'use_dpop_nonce',
      'nonce',
    );
    expect(f.nonces.verify('token', key.jkt, error.dpopNonce!)).toBe(true);
    const accepted = await f.token(clientCredentials, {
      authorization: asClient('nonce-client'),
      dpop: await f.proof(key, { nonce: error.dpopNonce! }),
    });
    expect(accepted.body.token_type).toBe('DPoP');
  });

  it('requires nonces of every client when requireNonce is set (RFC 9449 §8)', async () => {
    const strict = await protocolFixture({ requireNonce: true });
    await expectOAuthError(strict.token(clientCredentials, { authorization: service, dpop: key }), 'use_dpop_nonce', 'nonce');
  });

  it('refuses a resource nonce at the token endpoint (RFC 9449 §9: a nonce is valid only where it was issued)', async () => {
    const nonce = f.nonces.issue('resource', key.jkt);
    await expectOAuthError(
      f.token(clientCredentials, { authorization: asClient('nonce-client'), dpop: await f.proof(key, { nonce }) }),
      'use_dpop_nonce',
      'nonce',
    );
  });
});

describe('handleTokenRequest: the replay check comes last (RFC 9449 §11.1)', () => {
  let f: ProtocolFixture;
  beforeEach(async () => {
    f = await protocolFixture();
  });

  it('refuses a replayed proof (RFC 9449 §11.1)', async () => {
    const once = await f.proof(key);
    await f.token(clientCredentials, { authorization: service, dpop: once });
    await expectOAuthError(f.token(clientCredentials, { authorization: service, dpop: once }), 'invalid_dpop_proof', 'replay');
  });

  it('does not claim the proof of a request refused for its client authentication or its scope, so the same proof still works', async () => {
    const once = await f.proof(key);
    await expectOAuthError(
      f.token(clientCredentials, { authorization: basicAuth(serviceClient.id, 'wrong'), dpop: once }),
      'invalid_client',
      'client_auth',
    );
    await expectOAuthError(
      f.token({ ...clientCredentials, scope: 'admin' }, { authorization: service, dpop: once }),
      'invalid_scope',
      'scope',
    );
    expect(f.recorder.calls('replay')).toEqual([]);
    const accepted = await f.token(clientCredentials, { authorization: service, dpop: once });
    expect(accepted.body.token_type).toBe('DPoP');
    expect(f.recorder.claimOwners).toEqual([`client:${serviceClient.id}`]);
  });

  it('charges a confidential client’s proofs to the client, a public client’s to its grant', async () => {
    const { code, codeVerifier, record } = await f.saveCode();
    await f.token(clientCredentials, { authorization: service, dpop: key });
    await f.token(f.spaExchange(code, codeVerifier), { dpop: key });
    expect(f.recorder.claimOwners).toEqual([`client:${serviceClient.id}`, `grant:${record.grantId}`]);
  });

  it('claims the proof after a grant that forgot to, so that no grant can skip the replay check', async () => {
    const forgetful: GrantHandler = async ({ client }) => ({
      access_token: `for-${client.client_id}`,
      token_type: 'Bearer',
      expires_in: 60,
    });
    const deps = { ...f.tokenDeps, grants: { client_credentials: forgetful } };
    const once = await f.proof(key);
    const request = { params: clientCredentials, authorization: service, dpopHeaders: [once] };
    await handleTokenRequest(request, deps);
    expect(f.recorder.calls('replay')).toEqual(['replay.claim']);
    await expectOAuthError(handleTokenRequest(request, deps), 'invalid_dpop_proof', 'replay');
  });

  it('claims a proof once however often a grant calls claimProof', async () => {
    const eager: GrantHandler = async ({ claimProof }) => {
      await claimProof();
      await claimProof('grant-1');
      return { access_token: 'x', token_type: 'DPoP', expires_in: 60 };
    };
    await handleTokenRequest(
      { params: clientCredentials, authorization: service, dpopHeaders: [await f.proof(key)] },
      { ...f.tokenDeps, grants: { client_credentials: eager } },
    );
    expect(f.recorder.claimOwners).toEqual([`client:${serviceClient.id}`]);
  });

  it('answers 429 replay_quota when the credential holds its share of the replay cache, and records nothing for it', async () => {
    const bounded = await protocolFixture({ replayCacheMaxEntriesPerOwner: 2 });
    await bounded.token(clientCredentials, { authorization: service, dpop: key });
    await bounded.token(clientCredentials, { authorization: service, dpop: key });
    const error = await expectOAuthError(
      bounded.token(clientCredentials, { authorization: service, dpop: key }),
      'temporarily_unavailable',
      'replay_quota',
    );
    expect(error.retryAfterSeconds).toBe(60);
    // Another credential is not affected.
    expect((await bounded.token(clientCredentials, { authorization: asClient('bound-client'), dpop: key })).body.token_type).toBe('DPoP');
  });

  it('fails closed when the replay cache cannot answer: the error propagates, nothing is issued', async () => {
    f.recorder.failNext('replay.claim');
    await expect(f.token(clientCredentials, { authorization: service, dpop: key })).rejects.toThrow('replay.claim: timeout');
    expect(f.recorder.calls().filter((call) => storeWrites.includes(call))).toEqual([]);
  });
});

describe('handleTokenRequest: nonces on success (RFC 9449 §8.2, §11.3)', () => {
  it('sends a fresh nonce only to a client that must use nonces', async () => {
    const f = await protocolFixture();
    const plain = await f.token(clientCredentials, { authorization: service, dpop: key });
    expect(plain.dpopNonce).toBeUndefined();
    const nonce = f.nonces.issue('token', key.jkt);
    const required = await f.token(clientCredentials, { authorization: asClient('nonce-client'), dpop: await f.proof(key, { nonce }) });
    expect(required.dpopNonce).toBe(f.nonces.issue('token', key.jkt));
  });

  it('sends no nonce when no proof was sent, even to a nonce-requiring client', async () => {
    const f = await protocolFixture();
    const bearer = await f.token(clientCredentials, { authorization: asClient('nonce-client') });
    expect(bearer.body.token_type).toBe('Bearer');
    expect(bearer.dpopNonce).toBeUndefined();
  });
});

describe('clientCredentialsGrant (RFC 6749 §4.4)', () => {
  let f: ProtocolFixture;
  beforeEach(async () => {
    f = await protocolFixture();
  });

  it('issues a Bearer token for the client itself, sub = client_id (RFC 9068 §2.2), with every allowed scope when none is asked', async () => {
    const { body } = await f.token(clientCredentials, { authorization: service });
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 600, scope: 'api:read api:write' });
    const claims = decodeJwt(body.access_token);
    expect(claims).toMatchObject({ sub: serviceClient.id, client_id: serviceClient.id, scope: 'api:read api:write' });
    expect(claims.cnf).toBeUndefined();
    expect((await f.verifyToken(body.access_token)).sub).toBe(serviceClient.id);
  });

  it('binds the token to the proof key with cnf.jkt (RFC 9449 §6.1)', async () => {
    const { body } = await f.token(clientCredentials, { authorization: service, dpop: otherKey });
    expect(body.token_type).toBe('DPoP');
    expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: otherKey.jkt });
  });

  it('grants the scopes asked for, each of which the client must be allowed (RFC 6749 §3.3)', async () => {
    expect((await f.token({ ...clientCredentials, scope: 'api:write' }, { authorization: service })).body.scope).toBe('api:write');
    await expectOAuthError(
      f.token({ ...clientCredentials, scope: 'api:read admin' }, { authorization: service }),
      'invalid_scope',
      'scope',
    );
  });

  it('refuses a malformed scope with invalid_scope (RFC 6749 §3.3 scope-token)', async () => {
    await expectOAuthError(
      f.token({ ...clientCredentials, scope: 'api:read "quoted"' }, { authorization: service }),
      'invalid_scope',
      'scope',
    );
  });

  it('leaves scope out of the response when the client has none', async () => {
    const f2 = await protocolFixture({
      clients: [{ client_id: 'bare', client_secret_hash: hashClientSecret(serviceClient.secret), grant_types: ['client_credentials'] }],
    });
    const { body } = await f2.token(clientCredentials, { authorization: asClient('bare') });
    expect(body.scope).toBeUndefined();
    expect(decodeJwt(body.access_token).scope).toBe('');
  });
});

describe('handleTokenRequest: answers at once on memory stores (src/lib/maybe-promise.ts)', () => {
  it('answers a client_credentials request, with and without a proof, as a value; a refusal still rejects', async () => {
    const f = await protocolFixture();
    const bearer = handleTokenRequest(
      { params: { ...clientCredentials, scope: 'api:read' }, authorization: service, dpopHeaders: [] },
      f.tokenDeps,
    );
    expect(isPromise(bearer)).toBe(false);
    expect(bearer).toMatchObject({ body: { token_type: 'Bearer', scope: 'api:read' } });
    const bound = handleTokenRequest({ params: clientCredentials, authorization: service, dpopHeaders: [await f.proof(key)] }, f.tokenDeps);
    expect(isPromise(bound)).toBe(false);
    expect(bound).toMatchObject({ body: { token_type: 'DPoP' } });

    // Refused in the synchronous part (a wrong secret, a replayed proof): a rejected promise, never a throw.
    const proof = await f.proof(key);
    await handleTokenRequest({ params: clientCredentials, authorization: service, dpopHeaders: [proof] }, f.tokenDeps);
    for (const [request, code, reason] of [
      [
        { params: clientCredentials, authorization: basicAuth(serviceClient.id, 'wrong'), dpopHeaders: [] },
        'invalid_client',
        'client_auth',
      ],
      [{ params: clientCredentials, authorization: service, dpopHeaders: [proof] }, 'invalid_dpop_proof', 'replay'],
      [{ params: { ...clientCredentials, scope: 'not-registered' }, authorization: service, dpopHeaders: [] }, 'invalid_scope', 'scope'],
      [{ params: { grant_type: 'password' }, authorization: service, dpopHeaders: [] }, 'unsupported_grant_type', 'grant_type'],
      [
        {
          params: clientCredentials,
          authorization: basicAuth('resource-server', 'rs-secret-0123456789abcdef-0123456789'),
          dpopHeaders: [],
        },
        'unauthorized_client',
        'grant_type',
      ],
      [{ params: clientCredentials, authorization: asClient('bound-client'), dpopHeaders: [] }, 'invalid_dpop_proof', 'missing'],
      [
        {
          params: clientCredentials,
          authorization: service,
          dpopHeaders: [await f.proof(key, { htu: 'https://elsewhere.example/token' })],
        },
        'invalid_dpop_proof',
        'htu',
      ],
    ] as const) {
      let answer: unknown;
      expect(() => (answer = handleTokenRequest(request, f.tokenDeps))).not.toThrow();
      expect(isPromise(answer)).toBe(true);
      await expectOAuthError(answer as Promise<unknown>, code, reason);
    }
  });
});
