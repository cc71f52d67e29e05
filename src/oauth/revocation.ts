import type { RefreshTokenStore, RevokedTokens } from '../stores/ports.js';
import type { AccessTokenClaims } from '../tokens/access-token.js';
import { refreshTokenFamily } from '../tokens/refresh-token.js';
import type { ClientAssertionDeps } from './client-assertion.js';
import type { ClientAuthLimiter } from './client-auth-limiter.js';
import type { ClientRequestLimiter } from './client-request-limiter.js';
import { authenticateClient, clientCredentialsFrom } from './client-auth.js';
import type { ClientRegistry } from './clients.js';
import { OAuthError } from '../lib/oauth-error.js';
import { revokeGrant, type UserTokenDeps } from './grants/user-tokens.js';

/**
 * RFC 7009 token revocation. A refresh token revokes its whole grant, access tokens included
 * (§2.1 SHOULD); an access token is denied by `jti` until it expires. Unknown, invalid and
 * expired tokens get the same 200 as revoked ones, so the endpoint is no oracle (§2.2). A store
 * that cannot answer is never taken for "unknown": it fails (503), so a 200 always means revoked.
 */
export async function revokeToken(
  request: { params: Readonly<Record<string, string | undefined>>; authorization: string | undefined; address?: string },
  deps: Pick<UserTokenDeps, 'grants'> & {
    clients: ClientRegistry;
    assertions: ClientAssertionDeps;
    clientAuthLimiter?: ClientAuthLimiter;
    requestLimiter?: ClientRequestLimiter;
    refreshTokens: RefreshTokenStore;
    revoked: RevokedTokens;
    /** Signature and expiry only: an already revoked token verifies as revoked, which is fine here. */
    verifyAccessToken: (token: string) => Promise<AccessTokenClaims>;
  },
): Promise<void> {
  const client = await authenticateClient(clientCredentialsFrom(request.params, request.authorization, request.address), deps);
  await deps.requestLimiter?.charge(client.client_id);
  const token = request.params.token;
  if (!token) throw new OAuthError('invalid_request', 'token is required', { reason: 'token' });
  // The hint only orders the look-ups (§2.1): when it is wrong, the other type is tried; a hint
  // value we do not know is ignored and does not change the response (§2.2).
  const lookups = request.params.token_type_hint === 'access_token' ? [revokeAccess, revokeRefresh] : [revokeRefresh, revokeAccess];
  for (const lookup of lookups) {
    if (await lookup()) return;
  }

  async function revokeRefresh(): Promise<boolean> {
    // Any token of a family revokes its grant, a retired one too: at the token endpoint its
    // reuse would do the same.
    const familyId = refreshTokenFamily(token!);
    const family = familyId === undefined ? undefined : await deps.refreshTokens.find(familyId);
    if (!family) return false;
    assertOwner(family.clientId);
    await revokeGrant(family.grantId, deps);
    return true;
  }

  async function revokeAccess(): Promise<boolean> {
    let claims: AccessTokenClaims;
    try {
      claims = await deps.verifyAccessToken(token!);
    } catch (error) {
      // Not one of our valid tokens (malformed, foreign, expired, already revoked). Anything
      // else, such as the denylist being unreachable, must not pass for that.
      if (error instanceof OAuthError && error.code === 'invalid_token') return false;
      throw error;
    }
    assertOwner(claims.client_id);
    await deps.revoked.revoke(claims.jti, claims.exp * 1000);
    return true;
  }

  function assertOwner(clientId: string): void {
    // §2.1: a client may revoke only its own tokens.
    if (clientId !== client.client_id) {
      throw new OAuthError('unauthorized_client', 'the token was not issued to this client', { reason: 'token_owner' });
    }
  }
}
