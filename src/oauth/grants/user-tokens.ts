import type { Clock } from '../../lib/clock.js';
import type { GrantRecord, GrantStore, RefreshTokenStore, RevokedTokens } from '../../stores/ports.js';
import type { AccessTokenGrant, IssuedAccessToken } from '../../tokens/access-token.js';
import type { IdTokenInput } from '../../tokens/id-token.js';
import type { Client } from '../clients.js';
import { OAuthError } from '../../lib/oauth-error.js';
import type { TokenResponse } from './grant.js';

/** What the authorization_code and refresh_token grants share: issuing and revoking a user's tokens. */
export interface UserTokenDeps {
  issueAccessToken: (grant: AccessTokenGrant) => IssuedAccessToken;
  issueIdToken: (input: IdTokenInput) => Promise<string>;
  grants: GrantStore;
  refreshTokens: RefreshTokenStore;
  revoked: RevokedTokens;
  clock: Clock;
  refreshTokenTtlMs: number;
  /** How long a spent refresh token or code may be retried by its holder (see isHolderRetry). */
  reuseGraceMs: number;
  /** Live access tokens a grant keeps; beyond it the oldest is denied (GrantStore.addAccessToken). */
  maxLiveAccessTokensPerGrant: number;
}

/**
 * The token response for a user's grant: an access token bound to `jkt` when a proof was
 * sent, an ID token when `openid` was granted, and `refreshToken` when one was made.
 */
export async function issueUserTokens(
  input: {
    grant: GrantRecord;
    client: Client;
    scopes: string[];
    jkt: string | undefined;
    nonce: string | undefined;
    refreshToken: string | undefined;
  },
  deps: UserTokenDeps,
): Promise<TokenResponse> {
  const { grant, client, scopes } = input;
  const scope = scopes.join(' ');
  const issued = deps.issueAccessToken({
    subject: grant.sub,
    clientId: client.client_id,
    scope,
    jkt: input.jkt,
    authTime: grant.authTime,
    grantId: grant.id,
  });
  const recorded = { jti: issued.claims.jti, expiresAtMs: issued.claims.exp * 1000 };
  if (!(await deps.grants.addAccessToken(grant.id, recorded, deps.maxLiveAccessTokensPerGrant))) {
    // The grant was revoked while this request ran: the new token must not escape.
    await deps.revoked.revoke(recorded.jti, recorded.expiresAtMs);
    throw new OAuthError('invalid_grant', 'the grant has been revoked', { reason: 'revoked' });
  }
  const response: TokenResponse = {
    access_token: issued.token,
    token_type: issued.tokenType,
    expires_in: issued.expiresIn,
    scope,
  };
  if (input.refreshToken) response.refresh_token = input.refreshToken;
  if (scopes.includes('openid')) {
    response.id_token = await deps.issueIdToken({
      sub: grant.sub,
      clientId: client.client_id,
      nonce: input.nonce,
      authTime: grant.authTime,
      accessToken: issued.token,
    });
  }
  return response;
}

/** Whether a grant's tokens include a refresh token (RFC 6749 §6; OIDC Core §11 offline_access). */
export function wantsRefreshToken(client: Client, scopes: readonly string[]): boolean {
  return client.grant_types.includes('refresh_token') && scopes.includes('offline_access');
}

/** Revokes a grant: its refresh tokens stop working and its live access tokens are denied until they expire (one store step). */
export async function revokeGrant(grantId: string, deps: Pick<UserTokenDeps, 'grants'>): Promise<void> {
  await deps.grants.revoke(grantId);
}
