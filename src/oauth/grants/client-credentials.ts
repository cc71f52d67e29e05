import type { IssuedAccessToken, AccessTokenGrant } from '../../tokens/access-token.js';
import { andThen, rejectingThrows } from '../../lib/maybe-promise.js';
import { grantScopes } from '../scopes.js';
import type { GrantHandler } from './grant.js';

/**
 * RFC 6749 §4.4: the client acts for itself, so `sub` is its client_id (RFC 9068 §2.2). It
 * answers at once when the replay cache does (src/lib/maybe-promise.ts); refusals reject.
 */
export function clientCredentialsGrant(deps: { issueAccessToken: (grant: AccessTokenGrant) => IssuedAccessToken }): GrantHandler {
  return ({ client, params, dpop, claimProof }) =>
    rejectingThrows(() => {
      const scopes = grantScopes(params.scope, client.scopes);
      return andThen(claimProof(), () => {
        const issued = deps.issueAccessToken({
          subject: client.client_id,
          clientId: client.client_id,
          scope: scopes.join(' '),
          jkt: dpop?.jkt,
        });
        return {
          access_token: issued.token,
          token_type: issued.tokenType,
          expires_in: issued.expiresIn,
          ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
        };
      });
    });
}
