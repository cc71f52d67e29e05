import type { IssuedAccessToken, AccessTokenGrant } from '../../tokens/access-token.js';
import { grantScopes } from '../scopes.js';
import type { GrantHandler } from './grant.js';

/** RFC 6749 §4.4: the client acts for itself, so `sub` is its client_id (RFC 9068 §2.2). */
export function clientCredentialsGrant(deps: { issueAccessToken: (grant: AccessTokenGrant) => IssuedAccessToken }): GrantHandler {
  return async ({ client, params, dpop, claimProof }) => {
    const scopes = grantScopes(params.scope, client.scopes);
    // Awaited only when the replay cache answers later (src/lib/maybe-promise.ts).
    const claiming = claimProof();
    if (claiming) await claiming;
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
  };
}
