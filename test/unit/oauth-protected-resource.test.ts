import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { authorizeResourceRequest, type ResourceDeps, type ResourceRequest } from '../../src/oauth/protected-resource.js';
import { userinfoClaims } from '../../src/oauth/userinfo.js';
import { isPromise } from '../../src/lib/maybe-promise.js';
import { VerifiedTokenCache } from '../../src/tokens/verified-token-cache.js';
import type { AccessTokenClaims } from '../../src/tokens/access-token.js';
import { StaticUserDirectory } from '../../src/users/directory.js';
import { alice, issuer, serviceClient, testUsers } from '../helpers/app.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { resourceUrl } from '../helpers/dpop-verifier.js';
import { expectOAuthError, protocolFixture, type ProtocolFixture } from '../helpers/protocol.js';

let key: ProofKey;
let otherKey: ProofKey;
beforeAll(async () => {
  [key, otherKey] = await Promise.all([makeProofKey(), makeProofKey()]);
});

describe('authorizeResourceRequest (RFC 6750, RFC 9449 §7)', () => {
  let f: ProtocolFixture;
  let deps: ResourceDeps;
  let bound: string;
  let bearer: string;
  const access = (request: Partial<ResourceRequest>, overrides: Partial<ResourceDeps> = {}) =>
    authorizeResourceRequest(
      { method: 'GET', authorizationHeaders: [], dpopHeaders: [], tokenInParameters: false, ...request },
      { ...deps, ...overrides },
    );
  const dpopRequest = async (token: string, proof?: string) => ({
    authorizationHeaders: [`DPoP ${token}`],
    dpopHeaders: [proof ?? (await f.resourceProof(key, token))],
  });

  beforeEach(async () => {
    f = await protocolFixture();
    deps = {
      verifier: f.verifier,
      nonces: f.nonces,
      clients: f.clients,
      verifyAccessToken: f.verifyToken,
      resourceUrl,
      requireNonce: false,
    };
    bound = f.issue({ subject: alice.sub, clientId: 'spa', scope: 'openid profile', jkt: key.jkt, authTime: 1 }).token;
    bearer = f.issue({ subject: serviceClient.id, clientId: serviceClient.id, scope: 'api:read' }).token;
    f.recorder.clear();
  });

  it('accepts a DPoP-bound token with a proof by its key, charged to the token’s client and subject (RFC 9449 §7.1)', async () => {
    const { claims, dpopNonce } = await access(await dpopRequest(bound));
    expect(claims).toMatchObject({ sub: alice.sub, client_id: 'spa', cnf: { jkt: key.jkt } });
    expect(dpopNonce).toBeUndefined();
    expect(f.recorder.claimOwners).toEqual([`token:spa\n${alice.sub}`]);
  });

  it('answers at once when the token is verified already and the stores are in memory; refusals still reject (src/lib/maybe-promise.ts)', async () => {
    // As app.ts wires it: verified tokens kept until exp.
    const cache = new VerifiedTokenCache({ keys: f.keys, issuer, clock: f.clock, revoked: f.revoked });
    const cached = { verifyAccessToken: (token: string) => cache.verify(token) };
    await access({ authorizationHeaders: [`Bearer ${bearer}`] }, cached);
    const granted = access({ authorizationHeaders: [`Bearer ${bearer}`] }, cached);
    expect(isPromise(granted)).toBe(false);
    expect(granted).toMatchObject({ claims: { sub: serviceClient.id } });
    await access(await dpopRequest(bound), cached);
    const proof = await f.resourceProof(key, bound);
    const boundAccess = access(await dpopRequest(bound, proof), cached);
    expect(isPromise(boundAccess)).toBe(false);
    expect(boundAccess).toMatchObject({ claims: { cnf: { jkt: key.jkt } } });

    for (const [request, code, reason] of [
      [await dpopRequest(bound, proof), 'invalid_dpop_proof', 'replay'],
      [await dpopRequest(bound, await f.resourceProof(otherKey, bound)), 'invalid_token', 'jkt'],
      [{ authorizationHeaders: [`DPoP ${bound}`] }, 'invalid_dpop_proof', 'missing'],
      [{ authorizationHeaders: [`Bearer ${bound}`] }, 'invalid_token', 'bearer_downgrade'],
    ] as const) {
      let answer: unknown;
      expect(() => (answer = access(request, cached))).not.toThrow();
      expect(isPromise(answer)).toBe(true);
      await expectOAuthError(answer as Promise<unknown>, code, reason);
    }
  });

  it('accepts an unbound token with the Bearer scheme (RFC 6750 §2.1)', async () => {
    const { claims } = await access({ authorizationHeaders: [`Bearer ${bearer}`] });
    expect(claims.sub).toBe(serviceClient.id);
  });

  it('refuses a token in the query or body, saying what works instead (RFC 9449 §7.1, RFC 9700 §2.1)', async () => {
    await expectOAuthError(access({ ...(await dpopRequest(bound)), tokenInParameters: true }), 'invalid_request', 'token_in_query');
  });

  it('refuses two Authorization headers (RFC 9449 §7.2)', async () => {
    await expectOAuthError(
      access({ authorizationHeaders: [`Bearer ${bearer}`, `DPoP ${bound}`] }),
      'invalid_request',
      'multiple_authorization',
    );
  });

  it.each([
    ['no Authorization header', []],
    ['another scheme', ['Basic dXNlcjpwYXNz']],
    ['a scheme without a token', ['DPoP']],
  ])('answers %s with a challenge for every scheme and no error code (RFC 6750 §3.1)', async (_case, headers) => {
    const error = await expectOAuthError(access({ authorizationHeaders: headers }), 'invalid_token', 'no_credentials');
    expect(error.challenge).toBe('none');
  });

  it('refuses a token that is not token68 (RFC 6750 §2.1 b64token)', async () => {
    const error = await expectOAuthError(access({ authorizationHeaders: ['DPoP a"b'] }), 'invalid_token', 'malformed');
    expect(error.challenge).toBe('DPoP');
  });

  it('refuses a DPoP-bound token presented as a Bearer token (RFC 9449 §7.2)', async () => {
    const error = await expectOAuthError(access({ authorizationHeaders: [`Bearer ${bound}`] }), 'invalid_token', 'bearer_downgrade');
    expect(error.challenge).toBe('DPoP');
  });

  it('refuses the DPoP scheme without a proof (RFC 9449 §7.1)', async () => {
    await expectOAuthError(access({ authorizationHeaders: [`DPoP ${bound}`] }), 'invalid_dpop_proof', 'missing');
  });

  it('refuses the DPoP scheme with an unbound token (RFC 9449 §7.1: the key must match cnf.jkt)', async () => {
    await expectOAuthError(access(await dpopRequest(bearer)), 'invalid_token', 'not_bound');
    expect(f.recorder.calls('replay')).toEqual([]);
  });

  it('refuses a proof by a key other than the token’s, without claiming it (RFC 9449 §7.1)', async () => {
    const error = await expectOAuthError(access(await dpopRequest(bound, await f.resourceProof(otherKey, bound))), 'invalid_token', 'jkt');
    expect(error.challenge).toBe('DPoP');
    expect(f.recorder.calls('replay')).toEqual([]);
  });

  it('refuses a proof whose ath is another token’s (RFC 9449 §4.3 check 12)', async () => {
    await expectOAuthError(access(await dpopRequest(bound, await f.resourceProof(key, bearer))), 'invalid_dpop_proof', 'ath');
  });

  it('refuses a proof for the token endpoint (RFC 9449 §4.3 check 9)', async () => {
    await expectOAuthError(
      access(await dpopRequest(bound, await f.resourceProof(key, bound, { htu: `${issuer}/token` }))),
      'invalid_dpop_proof',
      'htu',
    );
  });

  it('refuses a replayed proof (RFC 9449 §11.1)', async () => {
    const request = await dpopRequest(bound);
    await access(request);
    const error = await expectOAuthError(access(request), 'invalid_dpop_proof', 'replay');
    expect(error.challenge).toBe('DPoP');
  });

  it('does not claim the proof of a request whose token fails, so junk tokens cannot fill the replay cache', async () => {
    const proof = await f.resourceProof(key, bound);
    await f.revoked.revoke((await f.verifyToken(bound)).jti, f.clock() + 600_000);
    await expectOAuthError(access(await dpopRequest(bound, proof)), 'invalid_token', 'revoked');
    expect(f.recorder.calls('replay')).toEqual([]);
  });

  it('refuses an expired token with the challenge of the scheme used (RFC 6750 §3.1)', async () => {
    f.clock.advance(600_000);
    const dpop = await expectOAuthError(access(await dpopRequest(bound)), 'invalid_token', 'expired');
    expect(dpop.challenge).toBe('DPoP');
    const plain = await expectOAuthError(access({ authorizationHeaders: [`Bearer ${bearer}`] }), 'invalid_token', 'expired');
    expect(plain.challenge).toBe('Bearer');
  });

  it('asks for a resource nonce when required, and gives a fresh one on success (RFC 9449 §9)', async () => {
    const error = await expectOAuthError(access(await dpopRequest(bound), { requireNonce: true }), 'use_dpop_nonce', 'nonce');
    expect(error.challenge).toBe('DPoP');
    const nonce = error.dpopNonce!;
    const { dpopNonce } = await access(await dpopRequest(bound, await f.resourceProof(key, bound, { nonce })), { requireNonce: true });
    expect(dpopNonce).toBe(f.nonces.issue('resource', key.jkt));
  });

  it('refuses a token-endpoint nonce at the resource (RFC 9449 §9: a nonce is valid only where it was issued)', async () => {
    const nonce = f.nonces.issue('token', key.jkt);
    await expectOAuthError(
      access(await dpopRequest(bound, await f.resourceProof(key, bound, { nonce })), { requireNonce: true }),
      'use_dpop_nonce',
      'nonce',
    );
  });

  it('requires nonces of a client registered with dpop_require_nonce, at the resource too', async () => {
    const token = f.issue({ subject: 'nonce-client', clientId: 'nonce-client', scope: 'api:read', jkt: key.jkt }).token;
    await expectOAuthError(access(await dpopRequest(token)), 'use_dpop_nonce', 'nonce');
  });
});

describe('userinfoClaims (OIDC Core §5.3)', () => {
  let users: StaticUserDirectory;
  beforeAll(async () => {
    users = new StaticUserDirectory(parseConfig({ users: await testUsers() }).users);
  });
  const token = (claims: Partial<AccessTokenClaims>): AccessTokenClaims => ({
    iss: issuer,
    sub: alice.sub,
    aud: issuer,
    client_id: 'spa',
    scope: 'openid',
    iat: 1,
    exp: 2,
    jti: 'j',
    auth_time: 1,
    ...claims,
  });

  it('returns the claims of each granted scope the user has, and sub always (OIDC Core §5.4)', async () => {
    expect(await userinfoClaims(token({ scope: 'openid email' }), users)).toEqual({
      sub: alice.sub,
      email: 'alice@example.test',
      email_verified: true,
    });
    expect(await userinfoClaims(token({ scope: 'openid profile' }), users)).toEqual({
      sub: alice.sub,
      name: 'Alice Example',
      preferred_username: 'alice',
    });
    expect(await userinfoClaims(token({ scope: 'openid' }), users)).toEqual({ sub: alice.sub });
  });

  it('answers at once from the configured users; a refusal still rejects (src/lib/maybe-promise.ts)', async () => {
    const claims = userinfoClaims(token({ scope: 'openid profile' }), users);
    expect(isPromise(claims)).toBe(false);
    expect(claims).toMatchObject({ sub: alice.sub, preferred_username: 'alice' });
    let refused: unknown;
    expect(() => (refused = userinfoClaims(token({ scope: 'profile' }), users))).not.toThrow();
    expect(isPromise(refused)).toBe(true);
    await expectOAuthError(refused as Promise<unknown>, 'insufficient_scope', 'scope');
  });

  it('refuses a user’s token without openid with insufficient_scope (OIDC Core §5.3)', async () => {
    await expectOAuthError(userinfoClaims(token({ scope: 'profile' }), users), 'insufficient_scope', 'scope');
  });

  it('refuses a token whose user no longer exists', async () => {
    await expectOAuthError(userinfoClaims(token({ sub: 'user-gone' }), users), 'invalid_token', 'user');
  });

  it('answers a client_credentials token (no auth_time) with its sub only: it speaks for the client', async () => {
    const { auth_time: _ignored, ...serviceToken } = token({ sub: serviceClient.id, scope: 'api:read' });
    expect(await userinfoClaims(serviceToken, users)).toEqual({ sub: serviceClient.id });
  });
});
