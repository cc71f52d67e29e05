import { decodeJwt } from 'jose';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashOpaque } from '../../src/tokens/opaque.js';
import { refreshFamilyId } from '../../src/tokens/refresh-token.js';
import { alice, webClient, webRedirect } from '../helpers/app.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { codeTtlMs, expectOAuthError, protocolFixture, storeWrites, type ProtocolFixture } from '../helpers/protocol.js';

let key: ProofKey;
let otherKey: ProofKey;
beforeAll(async () => {
  [key, otherKey] = await Promise.all([makeProofKey(), makeProofKey()]);
});

const writesOf = (f: ProtocolFixture) => f.recorder.calls().filter((call) => storeWrites.includes(call));

describe('authorizationCodeGrant: refusals, each before anything is claimed or written (RFC 6749 §4.1.3, RFC 9449 §10)', () => {
  let f: ProtocolFixture;
  beforeEach(async () => {
    f = await protocolFixture();
  });

  /** The refusal leaves the code unused, the proof unclaimed and every store as it was. */
  async function expectNothingSpent(code: string): Promise<void> {
    expect(await f.codeUsed(code)).toBe(false);
    expect(f.recorder.calls('replay')).toEqual([]);
    expect(writesOf(f)).toEqual([]);
  }

  it('refuses a request without code with invalid_request (RFC 6749 §4.1.3: code REQUIRED)', async () => {
    await expectOAuthError(
      f.token({ grant_type: 'authorization_code', client_id: 'spa', redirect_uri: 'x' }, { dpop: key }),
      'invalid_request',
      'code',
    );
    expect(f.recorder.calls()).toEqual([]);
  });

  it('refuses an unknown code with invalid_grant, after one look-up and nothing claimed', async () => {
    await expectOAuthError(f.token(f.spaExchange('no-such-code', 'v'.repeat(43)), { dpop: key }), 'invalid_grant', 'code');
    expect(f.recorder.calls()).toEqual(['codes.peek']);
  });

  it('refuses a code issued to another client as if it did not exist (RFC 6749 §4.1.3: issued to the authenticated client)', async () => {
    const { code } = await f.saveCode({ clientId: webClient.id, redirectUri: webRedirect, codeChallenge: undefined });
    await expectOAuthError(f.token(f.spaExchange(code, 'v'.repeat(43)), { dpop: key }), 'invalid_grant', 'code');
    await expectNothingSpent(code);
  });

  it('refuses a redirect_uri other than the authorization request’s (RFC 6749 §4.1.3), leaving the code and the proof usable', async () => {
    const { code, codeVerifier } = await f.saveCode();
    const proof = await f.proof(key);
    await expectOAuthError(
      f.token({ ...f.spaExchange(code, codeVerifier), redirect_uri: 'https://spa.example.test/other' }, { dpop: proof }),
      'invalid_grant',
      'redirect_uri',
    );
    await expectNothingSpent(code);
    const { body } = await f.token(f.spaExchange(code, codeVerifier), { dpop: proof });
    expect(body.token_type).toBe('DPoP');
  });

  it('refuses a code_verifier that does not match the code_challenge (RFC 7636 §4.6)', async () => {
    const { code } = await f.saveCode();
    await expectOAuthError(f.token(f.spaExchange(code, 'w'.repeat(43)), { dpop: key }), 'invalid_grant', 'pkce');
    await expectNothingSpent(code);
  });

  it('refuses a missing code_verifier when the authorization request had a code_challenge (RFC 7636 §4.5)', async () => {
    const { code } = await f.saveCode();
    await expectOAuthError(f.token({ ...f.spaExchange(code, ''), code_verifier: undefined }, { dpop: key }), 'invalid_grant', 'pkce');
    await expectNothingSpent(code);
  });

  it('refuses a code_verifier sent for a code without a code_challenge, a PKCE downgrade (RFC 9700 §4.8.2)', async () => {
    const { code } = await f.saveCode({ clientId: webClient.id, redirectUri: webRedirect, codeChallenge: undefined });
    await expectOAuthError(
      f.token({ ...f.webExchange(code), code_verifier: 'v'.repeat(43) }, { authorization: f.webAuthorization }),
      'invalid_grant',
      'pkce',
    );
    await expectNothingSpent(code);
  });

  it('refuses a dpop_jkt-bound code without a proof (RFC 9449 §10.1)', async () => {
    const { code, codeVerifier } = await f.saveCode({ dpopJkt: key.jkt });
    await expectOAuthError(f.token(f.spaExchange(code, codeVerifier)), 'invalid_dpop_proof', 'missing');
    await expectNothingSpent(code);
  });

  it('refuses a dpop_jkt-bound code with a proof by another key (RFC 9449 §10.1), the right key still redeeming it', async () => {
    const { code, codeVerifier } = await f.saveCode({ dpopJkt: key.jkt });
    await expectOAuthError(f.token(f.spaExchange(code, codeVerifier), { dpop: otherKey }), 'invalid_grant', 'dpop_jkt');
    await expectNothingSpent(code);
    expect((await f.token(f.spaExchange(code, codeVerifier), { dpop: key })).body.token_type).toBe('DPoP');
  });

  it('refuses an expired code like an unknown one', async () => {
    const { code, codeVerifier } = await f.saveCode();
    f.clock.advance(codeTtlMs);
    await expectOAuthError(f.token(f.spaExchange(code, codeVerifier), { dpop: key }), 'invalid_grant', 'code');
  });
});

describe('authorizationCodeGrant: a redemption, in order (RFC 6749 §4.1.3, §4.1.4)', () => {
  let f: ProtocolFixture;
  beforeEach(async () => {
    f = await protocolFixture();
  });

  it('claims the proof after the look-up and before any write, and marks the code used last', async () => {
    const { code, codeVerifier, record } = await f.saveCode({ dpopJkt: key.jkt });
    await f.token(f.spaExchange(code, codeVerifier), { dpop: key });
    const calls = f.recorder.calls();
    expect(calls[0]).toBe('codes.peek');
    expect(calls.indexOf('replay.claim')).toBeGreaterThan(0);
    expect(calls.slice(0, calls.indexOf('replay.claim')).filter((call) => storeWrites.includes(call))).toEqual([]);
    expect(calls.at(-1)).toBe('codes.consume');
    expect(f.recorder.claimOwners).toEqual([`grant:${record.grantId}`]);
  });

  it('issues a DPoP-bound access token, an ID token with the nonce and a refresh token bound to the key (RFC 9449 §5)', async () => {
    const { code, codeVerifier, record } = await f.saveCode({ scopes: ['openid', 'profile', 'offline_access'] });
    const { body } = await f.token(f.spaExchange(code, codeVerifier), { dpop: key });
    expect(body).toMatchObject({ token_type: 'DPoP', expires_in: 600, scope: 'openid profile offline_access' });
    expect(decodeJwt(body.access_token)).toMatchObject({
      sub: alice.sub,
      client_id: 'spa',
      cnf: { jkt: key.jkt },
      auth_time: record.authTime,
    });
    expect(decodeJwt(body.id_token!)).toMatchObject({ sub: alice.sub, aud: 'spa', nonce: 'nonce-456', auth_time: record.authTime });
    expect(await f.codeUsed(code)).toBe(true);
    const family = await f.refreshTokens.find(refreshFamilyId(record.grantId));
    expect(family).toMatchObject({
      grantId: record.grantId,
      clientId: 'spa',
      jkt: key.jkt,
      generation: 0,
      currentHash: hashOpaque(body.refresh_token!),
    });
  });

  it('binds a confidential client’s refresh token to its authentication, not to a proof key (RFC 9449 §5)', async () => {
    const { code, record } = await f.saveCode({ clientId: webClient.id, redirectUri: webRedirect, codeChallenge: undefined });
    const { body } = await f.token(f.webExchange(code), { authorization: f.webAuthorization, dpop: key });
    expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: key.jkt });
    expect((await f.refreshTokens.find(refreshFamilyId(record.grantId)))?.jkt).toBeUndefined();
    expect(f.recorder.claimOwners).toEqual([`client:${webClient.id}`]);
  });

  it('gives no refresh token without offline_access (OIDC Core §11) and no ID token without openid', async () => {
    const { code, codeVerifier } = await f.saveCode({ scopes: ['api:read'] });
    const { body } = await f.token(f.spaExchange(code, codeVerifier), { dpop: key });
    expect(body.refresh_token).toBeUndefined();
    expect(body.id_token).toBeUndefined();
    expect(f.recorder.calls('refresh')).toEqual([]);
  });

  it('leaves the code unused when a store fails while issuing, so the client’s retry is answered (not taken for reuse)', async () => {
    const { code, codeVerifier, record } = await f.saveCode();
    f.recorder.failNext('grants.addAccessToken');
    await expect(f.token(f.spaExchange(code, codeVerifier), { dpop: key })).rejects.toThrow('grants.addAccessToken: timeout');
    expect(await f.codeUsed(code)).toBe(false);
    const retried = await f.token(f.spaExchange(code, codeVerifier), { dpop: key });
    // The family made by the failed attempt is the grant's one family: its token is the answer.
    expect((await f.refreshTokens.find(refreshFamilyId(record.grantId)))?.currentHash).toBe(hashOpaque(retried.body.refresh_token!));
    expect(await f.codeUsed(code)).toBe(true);
  });
});

describe('authorizationCodeGrant: a code is used once (RFC 6749 §4.1.2), its redeemer’s retry within refreshToken.reuseGraceSeconds excepted', () => {
  async function redeemed(f: ProtocolFixture) {
    const saved = await f.saveCode();
    const first = await f.token(f.spaExchange(saved.code, saved.codeVerifier), { dpop: key });
    return { ...saved, first: first.body };
  }

  /** The grant is revoked: its access token denied, its refresh token refused. */
  async function expectGrantRevoked(f: ProtocolFixture, grantId: string, accessToken: string, refreshToken: string): Promise<void> {
    expect(await f.grants.find(grantId)).toBeUndefined();
    await expectOAuthError(f.verifyToken(accessToken), 'invalid_token', 'revoked');
    await expectOAuthError(
      f.token({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'spa' }, { dpop: key }),
      'invalid_grant',
      'revoked',
    );
  }

  it('refuses a second use by another key with code_reuse and revokes the grant the first use made (RFC 6749 §4.1.2)', async () => {
    const f = await protocolFixture();
    const { code, codeVerifier, record, first } = await redeemed(f);
    await expectOAuthError(f.token(f.spaExchange(code, codeVerifier), { dpop: otherKey }), 'invalid_grant', 'code_reuse');
    await expectGrantRevoked(f, record.grantId, first.access_token, first.refresh_token!);
  });

  it('refuses a second use without a proof with code_reuse: a public client without DPoP has no grace', async () => {
    const f = await protocolFixture();
    const { code, codeVerifier, record, first } = await redeemed(f);
    await expectOAuthError(f.token(f.spaExchange(code, codeVerifier)), 'invalid_grant', 'code_reuse');
    await expectGrantRevoked(f, record.grantId, first.access_token, first.refresh_token!);
  });

  it('answers the redeemer’s retry (same DPoP key) within the grace with a new access token and the same refresh token', async () => {
    const f = await protocolFixture();
    const { code, codeVerifier, first } = await redeemed(f);
    f.clock.advance(59_000);
    const { body } = await f.token(f.spaExchange(code, codeVerifier), { dpop: key });
    expect(body.refresh_token).toBe(first.refresh_token);
    expect(body.access_token).not.toBe(first.access_token);
    expect((await f.verifyToken(first.access_token)).sub).toBe(alice.sub);
    expect((await f.verifyToken(body.access_token)).cnf).toEqual({ jkt: key.jkt });
  });

  it('still checks the retry: a wrong code_verifier is refused for pkce and revokes nothing', async () => {
    const f = await protocolFixture();
    const { code, record, first } = await redeemed(f);
    await expectOAuthError(f.token(f.spaExchange(code, 'w'.repeat(43)), { dpop: key }), 'invalid_grant', 'pkce');
    expect(await f.grants.find(record.grantId)).toBeDefined();
    expect((await f.verifyToken(first.access_token)).sub).toBe(alice.sub);
  });

  it('takes the retry for reuse once the grace has passed', async () => {
    // A grace shorter than the code's life, so that the code is still there to be reused.
    const f = await protocolFixture({ reuseGraceSeconds: 10 });
    const { code, codeVerifier, record, first } = await redeemed(f);
    f.clock.advance(10_000);
    await expectOAuthError(f.token(f.spaExchange(code, codeVerifier), { dpop: key }), 'invalid_grant', 'code_reuse');
    await expectGrantRevoked(f, record.grantId, first.access_token, first.refresh_token!);
  });

  it('takes the retry for reuse once the refresh token it gave was used: the first answer did arrive', async () => {
    const f = await protocolFixture();
    const { code, codeVerifier, record, first } = await redeemed(f);
    const refreshed = await f.token({ grant_type: 'refresh_token', refresh_token: first.refresh_token!, client_id: 'spa' }, { dpop: key });
    await expectOAuthError(f.token(f.spaExchange(code, codeVerifier), { dpop: key }), 'invalid_grant', 'code_reuse');
    await expectGrantRevoked(f, record.grantId, refreshed.body.access_token, refreshed.body.refresh_token!);
  });

  it('has no grace with reuseGraceSeconds 0: strict single use', async () => {
    const f = await protocolFixture({ reuseGraceSeconds: 0 });
    const { code, codeVerifier, record, first } = await redeemed(f);
    await expectOAuthError(f.token(f.spaExchange(code, codeVerifier), { dpop: key }), 'invalid_grant', 'code_reuse');
    await expectGrantRevoked(f, record.grantId, first.access_token, first.refresh_token!);
  });

  it('answers a confidential client’s retry within the grace, its authentication telling it from a thief', async () => {
    const f = await protocolFixture();
    const { code } = await f.saveCode({ clientId: webClient.id, redirectUri: webRedirect, codeChallenge: undefined });
    const first = await f.token(f.webExchange(code), { authorization: f.webAuthorization });
    const retried = await f.token(f.webExchange(code), { authorization: f.webAuthorization });
    expect(retried.body.refresh_token).toBe(first.body.refresh_token);
    expect(retried.body.token_type).toBe('Bearer');
  });

  it('claims the proof of a reuse before revoking, so a replayed reuse is refused as a replay', async () => {
    const f = await protocolFixture();
    const { code, codeVerifier, record } = await redeemed(f);
    f.recorder.clear();
    const proof = await f.proof(otherKey);
    await expectOAuthError(f.token(f.spaExchange(code, codeVerifier), { dpop: proof }), 'invalid_grant', 'code_reuse');
    expect(f.recorder.calls()).toEqual(['codes.peek', 'replay.claim', 'grants.revoke', 'revoked.revoke']);
    expect(f.recorder.claimOwners).toEqual([`grant:${record.grantId}`]);
    await expectOAuthError(f.token(f.spaExchange(code, codeVerifier), { dpop: proof }), 'invalid_dpop_proof', 'replay');
  });
});
