import { decodeJwt } from 'jose';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TokenResponse } from '../../src/oauth/grants/grant.js';
import { hashOpaque } from '../../src/tokens/opaque.js';
import { newRefreshToken, refreshFamilyId } from '../../src/tokens/refresh-token.js';
import { webClient, webRedirect } from '../helpers/app.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import {
  expectOAuthError,
  protocolFixture,
  refreshTokenTtlSeconds,
  storeWrites,
  type ProtocolFixture,
  type ProtocolFixtureOptions,
} from '../helpers/protocol.js';

let key: ProofKey;
let otherKey: ProofKey;
beforeAll(async () => {
  [key, otherKey] = await Promise.all([makeProofKey(), makeProofKey()]);
});

const refresh = (refreshToken: string | undefined, extra: Record<string, string> = {}) => ({
  grant_type: 'refresh_token',
  refresh_token: refreshToken,
  client_id: 'spa',
  ...extra,
});

/** A fixture with alice's grant to `spa`, its code redeemed with a proof by `key` (or none). */
async function spaGrant(options: ProtocolFixtureOptions & { proofKey?: ProofKey | null } = {}) {
  const f = await protocolFixture(options);
  const proofKey = options.proofKey === null ? undefined : (options.proofKey ?? key);
  const { code, codeVerifier, record } = await f.saveCode();
  const { body } = await f.token(f.spaExchange(code, codeVerifier), proofKey ? { dpop: proofKey } : {});
  f.recorder.clear();
  return { f, grantId: record.grantId, tokens: body, refreshToken: body.refresh_token! };
}

/** The grant is revoked: every access token given denied, the latest refresh token refused. */
async function expectRevoked(
  f: ProtocolFixture,
  grantId: string,
  answers: TokenResponse[],
  proofKey: ProofKey | undefined = key,
): Promise<void> {
  expect(await f.grants.find(grantId)).toBeUndefined();
  for (const answer of answers) await expectOAuthError(f.verifyToken(answer.access_token), 'invalid_token', 'revoked');
  const latest = answers.at(-1)!.refresh_token!;
  await expectOAuthError(f.token(refresh(latest), proofKey ? { dpop: proofKey } : {}), 'invalid_grant', 'revoked');
}

describe('refreshTokenGrant: refusals before anything is claimed or written (RFC 6749 §6, RFC 9449 §5)', () => {
  let f: ProtocolFixture;
  let refreshToken: string;
  let grantId: string;
  beforeEach(async () => {
    ({ f, refreshToken, grantId } = await spaGrant());
  });

  const expectNothingSpent = () => {
    expect(f.recorder.calls('replay')).toEqual([]);
    expect(f.recorder.calls().filter((call) => storeWrites.includes(call))).toEqual([]);
  };

  it('refuses a request without refresh_token with invalid_request (RFC 6749 §6: refresh_token REQUIRED)', async () => {
    await expectOAuthError(f.token(refresh(undefined), { dpop: key }), 'invalid_request', 'refresh_token');
    expectNothingSpent();
  });

  it('refuses a token that is not one of ours without a store look-up', async () => {
    await expectOAuthError(f.token(refresh('not-a-refresh-token'), { dpop: key }), 'invalid_grant', 'refresh_token');
    // Another spelling of the same bytes (RFC 4648 §3.5: the last character's spare bits set) is not ours either.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const variant = `${refreshToken.slice(0, -1)}${alphabet[alphabet.indexOf(refreshToken.at(-1)!) | 1]}`;
    expect(Buffer.from(variant, 'base64url')).toEqual(Buffer.from(refreshToken, 'base64url'));
    await expectOAuthError(f.token(refresh(variant), { dpop: key }), 'invalid_grant', 'refresh_token');
    expect(f.recorder.calls()).toEqual([]);
  });

  it('refuses a token of a family that does not exist', async () => {
    await expectOAuthError(
      f.token(refresh(newRefreshToken(refreshFamilyId('no-such-grant'))), { dpop: key }),
      'invalid_grant',
      'refresh_token',
    );
    expect(f.recorder.calls()).toEqual(['refresh.find']);
  });

  it('refuses another client’s refresh token as if it did not exist (RFC 6749 §6: issued to the authenticated client)', async () => {
    const { code } = await f.saveCode({ clientId: webClient.id, redirectUri: webRedirect, codeChallenge: undefined });
    const web = await f.token(f.webExchange(code), { authorization: f.webAuthorization });
    f.recorder.clear();
    await expectOAuthError(f.token(refresh(web.body.refresh_token!), { dpop: key }), 'invalid_grant', 'refresh_token');
    expectNothingSpent();
  });

  it('refuses an expired refresh token', async () => {
    f.clock.advance(refreshTokenTtlSeconds * 1000);
    await expectOAuthError(f.token(refresh(refreshToken), { dpop: key }), 'invalid_grant', 'refresh_token');
  });

  it('refuses a DPoP-bound refresh token without a proof (RFC 9449 §5)', async () => {
    await expectOAuthError(f.token(refresh(refreshToken)), 'invalid_dpop_proof', 'missing');
    expectNothingSpent();
  });

  it('refuses a DPoP-bound refresh token with a proof by another key (RFC 9449 §5), the token still working for its key', async () => {
    await expectOAuthError(f.token(refresh(refreshToken), { dpop: otherKey }), 'invalid_grant', 'jkt');
    expectNothingSpent();
    expect((await f.token(refresh(refreshToken), { dpop: key })).body.refresh_token).toEqual(expect.any(String));
  });

  it('refuses a scope wider than the grant with invalid_scope (RFC 6749 §6: not beyond the original grant)', async () => {
    await expectOAuthError(f.token(refresh(refreshToken, { scope: 'openid email' }), { dpop: key }), 'invalid_scope', 'scope');
    expectNothingSpent();
  });

  it('refuses the refresh token of a revoked grant', async () => {
    await f.grants.revoke(grantId);
    f.recorder.clear();
    await expectOAuthError(f.token(refresh(refreshToken), { dpop: key }), 'invalid_grant', 'revoked');
    expectNothingSpent();
  });
});

describe('refreshTokenGrant: rotation (RFC 9700 §4.14.2)', () => {
  it('issues a new access token and a new refresh token, the proof claimed after the look-ups and the rotation written last', async () => {
    const { f, refreshToken, grantId } = await spaGrant();
    const { body } = await f.token(refresh(refreshToken), { dpop: key });
    expect(body.refresh_token).not.toBe(refreshToken);
    expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: key.jkt });
    const calls = f.recorder.calls();
    expect(calls.slice(0, calls.indexOf('replay.claim'))).toEqual(['refresh.find', 'grants.find']);
    expect(calls.at(-1)).toBe('refresh.rotate');
    expect(f.recorder.claimOwners).toEqual([`grant:${grantId}`]);
    expect(await f.refreshTokens.find(refreshFamilyId(grantId))).toMatchObject({
      generation: 1,
      currentHash: hashOpaque(body.refresh_token!),
      previousHash: hashOpaque(refreshToken),
      jkt: key.jkt,
    });
  });

  it('narrows the access token’s scope when asked, and keeps the grant’s for the next refresh (RFC 6749 §6)', async () => {
    const { f, refreshToken } = await spaGrant();
    const narrowed = await f.token(refresh(refreshToken, { scope: 'openid' }), { dpop: key });
    expect(narrowed.body.scope).toBe('openid');
    expect(decodeJwt(narrowed.body.access_token).scope).toBe('openid');
    const full = await f.token(refresh(narrowed.body.refresh_token!, { scope: ' ' }), { dpop: key });
    expect(full.body.scope).toBe('openid profile offline_access');
  });

  it('binds a public client’s refresh token to the key of the first refresh that carries a proof (RFC 9449 §5)', async () => {
    const { f, refreshToken, grantId } = await spaGrant({ proofKey: null });
    expect((await f.refreshTokens.find(refreshFamilyId(grantId)))?.jkt).toBeUndefined();
    const bound = await f.token(refresh(refreshToken), { dpop: key });
    expect((await f.refreshTokens.find(refreshFamilyId(grantId)))?.jkt).toBe(key.jkt);
    await expectOAuthError(f.token(refresh(bound.body.refresh_token!), { dpop: otherKey }), 'invalid_grant', 'jkt');
  });

  it('leaves the refresh token current when a store fails while issuing, so the client’s retry is not taken for reuse', async () => {
    const { f, refreshToken, grantId } = await spaGrant();
    f.recorder.failNext('grants.addAccessToken');
    await expect(f.token(refresh(refreshToken), { dpop: key })).rejects.toThrow('grants.addAccessToken: timeout');
    expect(f.recorder.calls('refresh')).toEqual(['refresh.find']);
    const retried = await f.token(refresh(refreshToken), { dpop: key });
    expect((await f.refreshTokens.find(refreshFamilyId(grantId)))?.currentHash).toBe(hashOpaque(retried.body.refresh_token!));
  });

  it('answers the holder’s twin request that lost the race to rotate with the winner’s successor (rotate: previous)', async () => {
    const { f, refreshToken } = await spaGrant();
    const rotation = f.recorder.pauseNext('refresh.rotate');
    const loser = f.token(refresh(refreshToken), { dpop: key });
    await rotation.reached;
    const winner = await f.token(refresh(refreshToken), { dpop: key });
    rotation.release();
    const lost = await loser;
    expect(lost.body.refresh_token).toBe(winner.body.refresh_token);
    expect(lost.body.access_token).not.toBe(winner.body.access_token);
    expect(f.recorder.calls('refresh')).toEqual(['refresh.find', 'refresh.rotate', 'refresh.find', 'refresh.rotate']);
  });

  it('revokes the grant when the request that lost the race to rotate is not the holder’s', async () => {
    const { f, refreshToken, grantId, tokens } = await spaGrant({ proofKey: null });
    const rotation = f.recorder.pauseNext('refresh.rotate');
    const loser = f.token(refresh(refreshToken));
    await rotation.reached;
    const winner = await f.token(refresh(refreshToken));
    rotation.release();
    await expectOAuthError(loser, 'invalid_grant', 'refresh_reuse');
    await expectRevoked(f, grantId, [tokens, winner.body], undefined);
  });
});

describe('refreshTokenGrant: refreshToken.reuseGraceSeconds, the holder’s retry vs reuse (RFC 9700 §4.14.2)', () => {
  it('answers a retry of the just-rotated token by the same key, within the grace, with a new access token and the same successor', async () => {
    const { f, refreshToken } = await spaGrant();
    const first = await f.token(refresh(refreshToken), { dpop: key });
    f.clock.advance(59_999);
    f.recorder.clear();
    const retried = await f.token(refresh(refreshToken), { dpop: key });
    expect(retried.body.refresh_token).toBe(first.body.refresh_token);
    expect(retried.body.access_token).not.toBe(first.body.access_token);
    expect(f.recorder.calls('refresh')).toEqual(['refresh.find']);
    // The successor then works, once, as usual.
    const next = await f.token(refresh(first.body.refresh_token!), { dpop: key });
    expect(next.body.refresh_token).not.toBe(first.body.refresh_token);
  });

  it('revokes the grant when the just-rotated token comes back after the grace (refresh_reuse)', async () => {
    const { f, refreshToken, grantId, tokens } = await spaGrant();
    const first = await f.token(refresh(refreshToken), { dpop: key });
    f.clock.advance(60_000);
    await expectOAuthError(f.token(refresh(refreshToken), { dpop: key }), 'invalid_grant', 'refresh_reuse');
    await expectRevoked(f, grantId, [tokens, first.body]);
  });

  it('revokes the grant when the just-rotated token comes back with another key, within the grace: a thief is not the holder', async () => {
    const { f, refreshToken, grantId, tokens } = await spaGrant();
    const first = await f.token(refresh(refreshToken), { dpop: key });
    await expectOAuthError(f.token(refresh(refreshToken), { dpop: otherKey }), 'invalid_grant', 'refresh_reuse');
    await expectRevoked(f, grantId, [tokens, first.body]);
  });

  it('revokes the grant when the just-rotated token comes back after its successor was used', async () => {
    const { f, refreshToken, grantId, tokens } = await spaGrant();
    const first = await f.token(refresh(refreshToken), { dpop: key });
    const second = await f.token(refresh(first.body.refresh_token!), { dpop: key });
    await expectOAuthError(f.token(refresh(refreshToken), { dpop: key }), 'invalid_grant', 'refresh_reuse');
    await expectRevoked(f, grantId, [tokens, first.body, second.body]);
  });

  it('revokes the grant for a retry by a public client without DPoP: nothing tells its retry from a thief’s', async () => {
    const { f, refreshToken, grantId, tokens } = await spaGrant({ proofKey: null });
    const first = await f.token(refresh(refreshToken));
    await expectOAuthError(f.token(refresh(refreshToken)), 'invalid_grant', 'refresh_reuse');
    await expectRevoked(f, grantId, [tokens, first.body], undefined);
  });

  it('revokes the grant at once with reuseGraceSeconds 0 (strict rotation)', async () => {
    const { f, refreshToken, grantId, tokens } = await spaGrant({ reuseGraceSeconds: 0 });
    const first = await f.token(refresh(refreshToken), { dpop: key });
    await expectOAuthError(f.token(refresh(refreshToken), { dpop: key }), 'invalid_grant', 'refresh_reuse');
    await expectRevoked(f, grantId, [tokens, first.body]);
  });

  it('revokes the grant for a made-up secret in the family: the family id alone identifies the grant', async () => {
    const { f, refreshToken, grantId, tokens } = await spaGrant();
    await expectOAuthError(f.token(refresh(newRefreshToken(refreshFamilyId(grantId))), { dpop: key }), 'invalid_grant', 'refresh_reuse');
    await expectRevoked(f, grantId, [{ ...tokens, refresh_token: refreshToken }]);
  });

  it('answers a confidential client’s retry within the grace: its authentication tells it from a thief', async () => {
    const f = await protocolFixture();
    const { code } = await f.saveCode({ clientId: webClient.id, redirectUri: webRedirect, codeChallenge: undefined });
    const tokens = await f.token(f.webExchange(code), { authorization: f.webAuthorization });
    const webRefresh = { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token! };
    const first = await f.token(webRefresh, { authorization: f.webAuthorization });
    const retried = await f.token(webRefresh, { authorization: f.webAuthorization });
    expect(retried.body.refresh_token).toBe(first.body.refresh_token);
    f.clock.advance(60_000);
    await expectOAuthError(f.token(webRefresh, { authorization: f.webAuthorization }), 'invalid_grant', 'refresh_reuse');
  });

  it('claims the proof of a reuse before revoking, and revokes in one store step', async () => {
    const { f, refreshToken, grantId } = await spaGrant();
    await f.token(refresh(refreshToken), { dpop: key });
    f.clock.advance(60_000);
    f.recorder.clear();
    await expectOAuthError(f.token(refresh(refreshToken), { dpop: key }), 'invalid_grant', 'refresh_reuse');
    expect(f.recorder.calls().filter((call) => !call.startsWith('revoked.'))).toEqual(['refresh.find', 'replay.claim', 'grants.revoke']);
    expect(f.recorder.claimOwners).toEqual([`grant:${grantId}`]);
  });
});
