import { decodeJwt } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Client } from '../../src/oauth/clients.js';
import { isHolderRetry } from '../../src/oauth/grants/retry.js';
import { issueUserTokens, revokeGrant, wantsRefreshToken } from '../../src/oauth/grants/user-tokens.js';
import type { GrantRecord } from '../../src/stores/ports.js';
import { alice, issuer } from '../helpers/app.js';
import { expectOAuthError, protocolFixture, type ProtocolFixture } from '../helpers/protocol.js';

describe('issueUserTokens and revokeGrant: a grant owns its tokens', () => {
  let f: ProtocolFixture;
  let spa: Client;
  let grant: GrantRecord;
  const issue = (overrides: Partial<Parameters<typeof issueUserTokens>[0]> = {}) =>
    issueUserTokens(
      { grant, client: spa, scopes: ['openid', 'profile'], jkt: 'jkt-1', nonce: 'n-1', refreshToken: undefined, ...overrides },
      f.userTokenDeps,
    );

  beforeEach(async () => {
    f = await protocolFixture({ maxLiveAccessTokensPerGrant: 2 });
    spa = f.clients.find('spa')!;
    grant = { id: 'grant-1', clientId: 'spa', sub: alice.sub, scopes: ['openid', 'profile'], authTime: 1_700_000_000 };
    await f.grants.create(grant, 86_400_000);
  });

  it('issues an access token for the user bound to jkt, and an ID token for openid with nonce and at_hash (OIDC Core §3.1.3.6)', async () => {
    const response = await issue({ refreshToken: 'r-1' });
    expect(response).toMatchObject({ token_type: 'DPoP', expires_in: 600, scope: 'openid profile', refresh_token: 'r-1' });
    expect(decodeJwt(response.access_token)).toMatchObject({
      sub: alice.sub,
      client_id: 'spa',
      auth_time: grant.authTime,
      cnf: { jkt: 'jkt-1' },
    });
    expect(decodeJwt(response.id_token!)).toMatchObject({
      iss: issuer,
      sub: alice.sub,
      aud: 'spa',
      nonce: 'n-1',
      auth_time: grant.authTime,
      at_hash: expect.any(String),
    });
  });

  it('issues no ID token without openid, and a Bearer token without jkt', async () => {
    const response = await issue({ scopes: ['profile'], jkt: undefined });
    expect(response.token_type).toBe('Bearer');
    expect(response.id_token).toBeUndefined();
    expect(response.refresh_token).toBeUndefined();
  });

  it('denies the oldest live access token beyond refreshToken.maxLiveAccessTokensPerGrant, never drops it', async () => {
    const first = await issue();
    f.clock.advance(1000);
    const second = await issue();
    f.clock.advance(1000);
    const third = await issue();
    await expectOAuthError(f.verifyToken(first.access_token), 'invalid_token', 'revoked');
    expect((await f.verifyToken(second.access_token)).sub).toBe(alice.sub);
    expect((await f.verifyToken(third.access_token)).sub).toBe(alice.sub);
  });

  it('refuses to hand out a token minted while the grant was revoked, and denies it', async () => {
    const issuedJtis: string[] = [];
    const grants = f.userTokenDeps.grants;
    const recordingDeps = {
      ...f.userTokenDeps,
      issueAccessToken: (input: Parameters<typeof f.issue>[0]) => {
        const issued = f.issue(input);
        issuedJtis.push(issued.claims.jti);
        return issued;
      },
      // The grant is revoked between minting and recording.
      grants: new Proxy(grants, {
        get(target, name) {
          if (name === 'addAccessToken') {
            return async (...args: Parameters<typeof grants.addAccessToken>) => {
              await revokeGrant(grant.id, f.userTokenDeps);
              return target.addAccessToken(...args);
            };
          }
          const value: unknown = Reflect.get(target, name);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      }),
    };
    await expectOAuthError(
      issueUserTokens({ grant, client: spa, scopes: ['openid'], jkt: undefined, nonce: undefined, refreshToken: undefined }, recordingDeps),
      'invalid_grant',
      'revoked',
    );
    expect(await f.revoked.isRevoked(issuedJtis[0]!)).toBe(true);
  });

  it('revokeGrant denies every live access token of the grant and ends the grant, in one store step', async () => {
    const one = await issue();
    const two = await issue();
    f.recorder.clear();
    await revokeGrant(grant.id, f.userTokenDeps);
    expect(f.recorder.calls('grants')).toEqual(['grants.revoke']);
    await expectOAuthError(f.verifyToken(one.access_token), 'invalid_token', 'revoked');
    await expectOAuthError(f.verifyToken(two.access_token), 'invalid_token', 'revoked');
    expect(await f.grants.find(grant.id)).toBeUndefined();
  });

  it('wantsRefreshToken: only with offline_access and the refresh_token grant type (OIDC Core §11)', () => {
    expect(wantsRefreshToken(spa, ['openid', 'offline_access'])).toBe(true);
    expect(wantsRefreshToken(spa, ['openid'])).toBe(false);
    expect(wantsRefreshToken({ ...spa, grant_types: ['authorization_code'] }, ['openid', 'offline_access'])).toBe(false);
  });
});

describe('isHolderRetry: a spent credential presented again by its holder within the grace (RFC 9700 §4.14.2)', () => {
  let f: ProtocolFixture;
  beforeEach(async () => {
    f = await protocolFixture();
  });
  const proofBy = (jkt: string) => ({ jkt, jti: 'j', iat: 0 });
  const grace = 60_000;

  it('is a retry for the same DPoP key of a public client, strictly within the grace', () => {
    const spa = f.clients.find('spa')!;
    expect(isHolderRetry({ atMs: 1000, jkt: 'k' }, { client: spa, dpop: proofBy('k') }, 1000 + grace - 1, grace)).toBe(true);
    expect(isHolderRetry({ atMs: 1000, jkt: 'k' }, { client: spa, dpop: proofBy('k') }, 1000 + grace, grace)).toBe(false);
  });

  it('is not a retry for a public client with another key, without a proof, or whose credential was not bound', () => {
    const spa = f.clients.find('spa')!;
    expect(isHolderRetry({ atMs: 1000, jkt: 'k' }, { client: spa, dpop: proofBy('other') }, 1000, grace)).toBe(false);
    expect(isHolderRetry({ atMs: 1000, jkt: 'k' }, { client: spa, dpop: undefined }, 1000, grace)).toBe(false);
    expect(isHolderRetry({ atMs: 1000, jkt: undefined }, { client: spa, dpop: undefined }, 1000, grace)).toBe(false);
  });

  it('is a retry for an authenticated confidential client within the grace, with or without a proof', () => {
    const web = f.clients.find('web')!;
    expect(isHolderRetry({ atMs: 1000, jkt: undefined }, { client: web, dpop: undefined }, 1000, grace)).toBe(true);
    expect(isHolderRetry({ atMs: 1000, jkt: 'k' }, { client: web, dpop: proofBy('other') }, 1000, grace)).toBe(true);
  });

  it('is never a retry with a grace of 0', () => {
    const web = f.clients.find('web')!;
    expect(isHolderRetry({ atMs: 1000, jkt: undefined }, { client: web, dpop: undefined }, 1000, 0)).toBe(false);
  });
});
