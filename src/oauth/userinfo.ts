import type { AccessTokenClaims } from '../tokens/access-token.js';
import { claimsForScopes, type UserDirectory } from '../users/directory.js';
import { OAuthError } from '../lib/oauth-error.js';
import { andThen, rejectingThrows, type MaybePromise } from '../lib/maybe-promise.js';

/**
 * The claims the profile (userinfo) endpoint returns for a verified access token. Tokens of a
 * signed-in user carry `auth_time`: they need the `openid` scope (OIDC Core §5.3) and get the
 * claims their scopes allow (§5.4). client_credentials tokens speak for the client: `sub` only.
 */
export function userinfoClaims(token: AccessTokenClaims, users: UserDirectory): MaybePromise<Record<string, unknown>> {
  // At once when the directory answers at once; a refusal rejects (src/lib/maybe-promise.ts).
  return rejectingThrows(() => {
    if (token.auth_time === undefined) return { sub: token.sub };
    // Challenge with the scheme the token is used with (RFC 6750 §3, RFC 9449 §7.1).
    const challenge = token.cnf?.jkt ? 'DPoP' : 'Bearer';
    const scopes = token.scope.split(' ');
    if (!scopes.includes('openid')) {
      throw new OAuthError('insufficient_scope', 'the access token was not granted the openid scope', { reason: 'scope', challenge });
    }
    return andThen(users.findBySubject(token.sub), (user) => {
      // The user was removed after the token was issued: the token no longer speaks for anyone.
      if (!user) throw new OAuthError('invalid_token', 'the user of this access token no longer exists', { reason: 'user', challenge });
      return claimsForScopes(user, scopes);
    });
  });
}
