import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClientRequestLimiter } from '../../src/oauth/client-request-limiter.js';
import { revokeToken } from '../../src/oauth/revocation.js';
import { MemoryFailureCounter } from '../../src/stores/memory/failure-counter.js';
import { StoreUnavailableError } from '../../src/stores/ports.js';
import { newRefreshToken, refreshFamilyId } from '../../src/tokens/refresh-token.js';
import { basicAuth, serviceClient, webClient, webRedirect } from '../helpers/app.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { expectOAuthError, protocolFixture, type ProtocolFixture } from '../helpers/protocol.js';

let key: ProofKey;
beforeAll(async () => {
  key = await makeProofKey();
});

describe('revokeToken (RFC 7009)', () => {
  let f: ProtocolFixture;
  let revoke: (params: Record<string, string | undefined>, authorization?: string) => Promise<void>;
  /** alice's grant to `spa`: its first access and refresh tokens. */
  let spa: { grantId: string; accessToken: string; refreshToken: string };

  beforeEach(async () => {
    f = await protocolFixture();
    const deps = {
      clients: f.clients,
      assertions: f.assertions,
      refreshTokens: f.refreshTokens,
      revoked: f.revoked,
      grants: f.grants,
      verifyAccessToken: f.verifyToken,
    };
    revoke = (params, authorization) => revokeToken({ params, authorization }, deps);
    const { code, codeVerifier, record } = await f.saveCode();
    const { body } = await f.token(f.spaExchange(code, codeVerifier), { dpop: key });
    spa = { grantId: record.grantId, accessToken: body.access_token, refreshToken: body.refresh_token! };
    f.recorder.clear();
  });

  it('revokes the whole grant for a refresh token, its access tokens included (RFC 7009 §2.1)', async () => {
    await revoke({ token: spa.refreshToken, client_id: 'spa' });
    expect(await f.grants.find(spa.grantId)).toBeUndefined();
    await expectOAuthError(f.verifyToken(spa.accessToken), 'invalid_token', 'revoked');
    await expectOAuthError(
      f.token({ grant_type: 'refresh_token', refresh_token: spa.refreshToken, client_id: 'spa' }, { dpop: key }),
      'invalid_grant',
      'revoked',
    );
  });

  it('revokes the grant for a retired refresh token of the family too: its reuse at the token endpoint would', async () => {
    await f.token({ grant_type: 'refresh_token', refresh_token: spa.refreshToken, client_id: 'spa' }, { dpop: key });
    await revoke({ token: spa.refreshToken, client_id: 'spa' });
    expect(await f.grants.find(spa.grantId)).toBeUndefined();
  });

  it('denies an access token by jti until it expires, the grant left alone (RFC 7009 §2.1)', async () => {
    await revoke({ token: spa.accessToken, client_id: 'spa', token_type_hint: 'access_token' });
    expect(f.recorder.calls()).toEqual(['revoked.isRevoked', 'revoked.revoke']);
    await expectOAuthError(f.verifyToken(spa.accessToken), 'invalid_token', 'revoked');
    expect(await f.grants.find(spa.grantId)).toBeDefined();
  });

  it('finds the token whatever the hint says: a wrong hint only orders the look-ups (RFC 7009 §2.1)', async () => {
    await revoke({ token: spa.refreshToken, client_id: 'spa', token_type_hint: 'access_token' });
    expect(await f.grants.find(spa.grantId)).toBeUndefined();
    const { body } = await f.token(
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(serviceClient.id, serviceClient.secret) },
    );
    await revoke({ token: body.access_token, token_type_hint: 'refresh_token' }, basicAuth(serviceClient.id, serviceClient.secret));
    await expectOAuthError(f.verifyToken(body.access_token), 'invalid_token', 'revoked');
  });

  it('ignores a token_type_hint it does not know (RFC 7009 §2.2.1 unsupported_token_type is not used)', async () => {
    await revoke({ token: spa.accessToken, client_id: 'spa', token_type_hint: 'id_token' });
    await expectOAuthError(f.verifyToken(spa.accessToken), 'invalid_token', 'revoked');
  });

  it.each([
    ['a malformed token', 'not-a-token'],
    ['a refresh token of a family that does not exist', newRefreshToken(refreshFamilyId('nobody'))],
    ['a JWT that is not ours', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
  ])('answers %s with success and writes nothing: the endpoint is no oracle (RFC 7009 §2.2)', async (_case, token) => {
    await revoke({ token, client_id: 'spa' });
    expect(f.recorder.calls().filter((call) => call.endsWith('.revoke'))).toEqual([]);
  });

  it('answers an expired access token with success (RFC 7009 §2.2: invalid tokens do not cause an error)', async () => {
    f.clock.advance(600_000);
    await revoke({ token: spa.accessToken, client_id: 'spa', token_type_hint: 'access_token' });
    expect(f.recorder.calls('revoked')).toEqual([]);
  });

  it('refuses to revoke another client’s refresh or access token with unauthorized_client (RFC 7009 §2.1)', async () => {
    const web = basicAuth(webClient.id, webClient.secret);
    await expectOAuthError(revoke({ token: spa.refreshToken }, web), 'unauthorized_client', 'token_owner');
    await expectOAuthError(revoke({ token: spa.accessToken, token_type_hint: 'access_token' }, web), 'unauthorized_client', 'token_owner');
    expect(await f.grants.find(spa.grantId)).toBeDefined();
    expect((await f.verifyToken(spa.accessToken)).sub).toBeDefined();
  });

  it('refuses a request without token with invalid_request (RFC 7009 §2.1: token REQUIRED)', async () => {
    await expectOAuthError(revoke({ client_id: 'spa' }), 'invalid_request', 'token');
  });

  it('authenticates the client first (RFC 7009 §2.1): a wrong secret is invalid_client and revokes nothing', async () => {
    const { code } = await f.saveCode({ clientId: webClient.id, redirectUri: webRedirect, codeChallenge: undefined });
    const { body } = await f.token(f.webExchange(code), { authorization: f.webAuthorization });
    f.recorder.clear();
    await expectOAuthError(revoke({ token: body.refresh_token! }, basicAuth(webClient.id, 'wrong')), 'invalid_client', 'client_auth');
    expect(f.recorder.calls()).toEqual([]);
  });

  it('counts revocations per client, past the limit 429 client_rate_limited', async () => {
    const requestLimiter = new ClientRequestLimiter(new MemoryFailureCounter(100, f.clock), { endpoint: 'revocation', maxPerMinute: 1 });
    const deps = {
      clients: f.clients,
      assertions: f.assertions,
      requestLimiter,
      refreshTokens: f.refreshTokens,
      revoked: f.revoked,
      grants: f.grants,
      verifyAccessToken: f.verifyToken,
    };
    await revokeToken({ params: { token: 'x', client_id: 'spa' }, authorization: undefined }, deps);
    const error = await expectOAuthError(
      revokeToken({ params: { token: spa.refreshToken, client_id: 'spa' }, authorization: undefined }, deps),
      'temporarily_unavailable',
      'client_rate_limited',
    );
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(await f.grants.find(spa.grantId)).toBeDefined();
  });
});

describe('revokeToken fails closed: a store that cannot answer is never taken for an unknown token', () => {
  let f: ProtocolFixture;
  let revoke: (params: Record<string, string | undefined>) => Promise<void>;
  let spa: { grantId: string; accessToken: string; refreshToken: string };

  beforeEach(async () => {
    f = await protocolFixture();
    const deps = {
      clients: f.clients,
      assertions: f.assertions,
      refreshTokens: f.refreshTokens,
      revoked: f.revoked,
      grants: f.grants,
      verifyAccessToken: f.verifyToken,
    };
    revoke = (params) => revokeToken({ params: { client_id: 'spa', ...params }, authorization: undefined }, deps);
    const { code, codeVerifier, record } = await f.saveCode();
    const { body } = await f.token(f.spaExchange(code, codeVerifier), { dpop: key });
    spa = { grantId: record.grantId, accessToken: body.access_token, refreshToken: body.refresh_token! };
  });

  it.each([
    ['the refresh-token look-up', 'refresh.find', 'refresh'],
    ['the grant revocation', 'grants.revoke', 'refresh'],
    ['the denylist check of an access token', 'revoked.isRevoked', 'access'],
    ['the denylist write', 'revoked.revoke', 'access'],
  ] as const)('rejects when %s fails, rather than answer success', async (_case, call, kind) => {
    f.recorder.failNext(call);
    const token = kind === 'refresh' ? spa.refreshToken : spa.accessToken;
    await expect(revoke({ token, token_type_hint: kind === 'refresh' ? 'refresh_token' : 'access_token' })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
  });

  it('completes the revocation on the client’s retry after a failure', async () => {
    f.recorder.failNext('grants.revoke');
    await expect(revoke({ token: spa.refreshToken })).rejects.toBeInstanceOf(StoreUnavailableError);
    await revoke({ token: spa.refreshToken });
    expect(await f.grants.find(spa.grantId)).toBeUndefined();
    await expectOAuthError(f.verifyToken(spa.accessToken), 'invalid_token', 'revoked');
  });
});
