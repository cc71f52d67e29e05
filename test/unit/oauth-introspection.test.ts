import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClientRequestLimiter } from '../../src/oauth/client-request-limiter.js';
import { introspectToken, type IntrospectionResponse } from '../../src/oauth/introspection.js';
import { MemoryFailureCounter } from '../../src/stores/memory/failure-counter.js';
import { StoreUnavailableError } from '../../src/stores/ports.js';
import { issueAccessToken } from '../../src/tokens/access-token.js';
import { generateSigningJwks, signingKeysFromJwks } from '../../src/tokens/keys.js';
import { alice, basicAuth, issuer, resourceServer, serviceClient } from '../helpers/app.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { expectOAuthError, protocolFixture, type ProtocolFixture } from '../helpers/protocol.js';

const asResourceServer = basicAuth(resourceServer.id, resourceServer.secret);
const asService = basicAuth(serviceClient.id, serviceClient.secret);

let key: ProofKey;
beforeAll(async () => {
  key = await makeProofKey();
});

describe('introspectToken (RFC 7662)', () => {
  let f: ProtocolFixture;
  let introspect: (params: Record<string, string | undefined>, authorization?: string) => Promise<IntrospectionResponse>;
  beforeEach(async () => {
    f = await protocolFixture();
    introspect = (params, authorization = asResourceServer) =>
      introspectToken({ params, authorization }, { clients: f.clients, assertions: f.assertions, verifyAccessToken: f.verifyToken });
  });

  it('describes an active DPoP-bound token, with token_type DPoP and cnf.jkt (RFC 7662 §2.2, RFC 9449 §6.2)', async () => {
    const issued = f.issue({ subject: alice.sub, clientId: 'spa', scope: 'openid profile', jkt: key.jkt, authTime: 1 });
    expect(await introspect({ token: issued.token })).toEqual({
      active: true,
      token_type: 'DPoP',
      scope: 'openid profile',
      client_id: 'spa',
      sub: alice.sub,
      aud: issuer,
      iss: issuer,
      exp: issued.claims.exp,
      iat: issued.claims.iat,
      jti: issued.claims.jti,
      cnf: { jkt: key.jkt },
    });
  });

  it('describes a Bearer token without cnf', async () => {
    const issued = f.issue({ subject: serviceClient.id, clientId: serviceClient.id, scope: 'api:read' });
    const answer = await introspect({ token: issued.token });
    expect(answer).toMatchObject({ active: true, token_type: 'Bearer', sub: serviceClient.id });
    expect(answer).not.toHaveProperty('cnf');
  });

  it('answers active:false and nothing else for a revoked token (RFC 7662 §2.2)', async () => {
    const issued = f.issue({ subject: alice.sub, clientId: 'spa', scope: 'openid' });
    await f.revoked.revoke(issued.claims.jti, issued.claims.exp * 1000);
    expect(await introspect({ token: issued.token })).toEqual({ active: false });
  });

  it('answers active:false for an expired token, from its exp on (RFC 7662 §2.2)', async () => {
    const issued = f.issue({ subject: alice.sub, clientId: 'spa', scope: 'openid' });
    f.clock.advance(599_000);
    expect((await introspect({ token: issued.token })).active).toBe(true);
    f.clock.advance(1_000);
    expect(await introspect({ token: issued.token })).toEqual({ active: false });
  });

  it('answers active:false for a token signed by a key that is not ours', async () => {
    const foreignKeys = await signingKeysFromJwks(await generateSigningJwks('ES256'));
    const foreign = issueAccessToken(
      { subject: alice.sub, clientId: 'spa', scope: 'openid' },
      { keys: foreignKeys, settings: { issuer, audience: issuer, ttlSeconds: 600 }, clock: f.clock },
    );
    expect(await introspect({ token: foreign.token })).toEqual({ active: false });
  });

  it('answers active:false for a token of another issuer signed with our key', async () => {
    const other = issueAccessToken(
      { subject: alice.sub, clientId: 'spa', scope: 'openid' },
      {
        keys: f.keys,
        settings: { issuer: 'https://other.example.test', audience: 'https://other.example.test', ttlSeconds: 600 },
        clock: f.clock,
      },
    );
    expect(await introspect({ token: other.token })).toEqual({ active: false });
  });

  it.each([
    ['a malformed token', 'not-a-token'],
    ['a refresh-token-shaped string', 'A'.repeat(43)],
  ])('answers active:false for %s', async (_case, token) => {
    expect(await introspect({ token })).toEqual({ active: false });
  });

  it('refuses a caller without introspection_allowed with unauthorized_client, before looking at the token (RFC 7662 §2.1)', async () => {
    const issued = f.issue({ subject: alice.sub, clientId: 'spa', scope: 'openid' });
    f.recorder.clear();
    await expectOAuthError(introspect({ token: issued.token }, asService), 'unauthorized_client', 'introspection');
    // A public client names itself: it authenticates, and may not introspect either.
    const asSpa = introspectToken(
      { params: { token: issued.token, client_id: 'spa' }, authorization: undefined },
      { clients: f.clients, assertions: f.assertions, verifyAccessToken: f.verifyToken },
    );
    await expectOAuthError(asSpa, 'unauthorized_client', 'introspection');
    expect(f.recorder.calls()).toEqual([]);
  });

  it('refuses an unauthenticated caller with invalid_client (RFC 7662 §2.1: against token scanning)', async () => {
    await expectOAuthError(introspect({ token: 'x' }, basicAuth(resourceServer.id, 'wrong')), 'invalid_client', 'client_auth');
    await expectOAuthError(introspect({ token: 'x' }, ''), 'invalid_client', 'client_auth');
  });

  it('refuses a request without token with invalid_request (RFC 7662 §2.1: token REQUIRED)', async () => {
    await expectOAuthError(introspect({}), 'invalid_request', 'token');
  });

  it('fails when the denylist cannot answer, rather than call a revoked token active or an active one inactive', async () => {
    const issued = f.issue({ subject: alice.sub, clientId: 'spa', scope: 'openid' });
    f.recorder.failNext('revoked.isRevoked');
    await expect(introspect({ token: issued.token })).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('counts requests per caller, past the limit 429 client_rate_limited', async () => {
    const requestLimiter = new ClientRequestLimiter(new MemoryFailureCounter(100, f.clock), { endpoint: 'introspection', maxPerMinute: 1 });
    const limited = (token: string) =>
      introspectToken(
        { params: { token }, authorization: asResourceServer },
        { clients: f.clients, assertions: f.assertions, requestLimiter, verifyAccessToken: f.verifyToken },
      );
    await limited('x');
    const error = await expectOAuthError(limited('x'), 'temporarily_unavailable', 'client_rate_limited');
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    f.clock.advance(60_000);
    expect(await limited('x')).toEqual({ active: false });
  });
});
