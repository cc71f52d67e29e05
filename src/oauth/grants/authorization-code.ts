import type { CodeStore, GrantStore } from '../../stores/ports.js';
import { hashOpaque, newOpaqueToken } from '../../tokens/opaque.js';
import { OAuthError, invalidGrant } from '../errors.js';
import { verifyPkce } from '../pkce.js';
import type { GrantHandler } from './grant.js';
import { issueUserTokens, revokeGrant, wantsRefreshToken, type UserTokenDeps } from './user-tokens.js';

/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636) and DPoP code binding (RFC 9449 §10). Every check runs
 * before the code is consumed, so a failed request never burns it; a second use of a consumed
 * code fails and revokes what the first use issued (RFC 6749 §4.1.2).
 */
export function authorizationCodeGrant(
  deps: UserTokenDeps & { codes: CodeStore; grants: GrantStore; grantTtlMs: number },
): GrantHandler {
  return async ({ client, params, dpop, claimProof }) => {
    const code = params.code;
    if (!code) throw new OAuthError('invalid_request', 'code is required', { reason: 'code' });
    const codeHash = hashOpaque(code);
    const entry = await deps.codes.peek(codeHash);
    if (!entry || entry.record.clientId !== client.client_id) {
      throw invalidGrant('authorization code is invalid or expired', 'code');
    }
    const { record } = entry;
    if (entry.used) {
      await claimProof(record.grantId);
      await revokeGrant(record.grantId, deps);
      throw invalidGrant('authorization code was already used', 'code_reuse');
    }
    if (params.redirect_uri !== record.redirectUri) {
      throw invalidGrant('redirect_uri does not match the authorization request', 'redirect_uri');
    }
    const verifier = params.code_verifier;
    if (record.codeChallenge !== undefined) {
      if (verifier === undefined || !verifyPkce(verifier, record.codeChallenge)) {
        throw invalidGrant('code_verifier does not match the code_challenge', 'pkce');
      }
    } else if (verifier !== undefined) {
      // RFC 9700 §4.8: a verifier without a challenge is a PKCE downgrade attempt.
      throw invalidGrant('code_verifier sent but no code_challenge was', 'pkce');
    }
    if (record.dpopJkt !== undefined) {
      if (!dpop) throw new OAuthError('invalid_dpop_proof', 'the code is bound to a DPoP key: a proof is required', { reason: 'missing' });
      if (dpop.jkt !== record.dpopJkt) throw invalidGrant('DPoP proof key does not match dpop_jkt', 'dpop_jkt');
    }

    await claimProof(record.grantId);
    // The grant and its tokens exist before the code counts as used: a reuse seen from then on
    // (here or on another instance) always finds them to revoke, and a store failure while
    // issuing (503) leaves the code unused for the client's retry instead of burning it.
    const grant = { id: record.grantId, clientId: client.client_id, sub: record.sub, scopes: record.scopes, authTime: record.authTime };
    await deps.grants.create(grant, deps.grantTtlMs);
    let refreshToken: string | undefined;
    if (wantsRefreshToken(client, record.scopes)) {
      refreshToken = newOpaqueToken();
      await deps.refreshTokens.save(hashOpaque(refreshToken), {
        grantId: grant.id,
        clientId: client.client_id,
        scopes: record.scopes,
        // RFC 9449 §5: a public client's refresh token is bound to its DPoP key; a confidential
        // client's is constrained by its authentication instead.
        jkt: client.token_endpoint_auth_method === 'none' ? dpop?.jkt : undefined,
        expiresAtMs: deps.clock() + deps.refreshTokenTtlMs,
      });
    }
    const response = await issueUserTokens(
      { grant, client, scopes: record.scopes, jkt: dpop?.jkt, nonce: record.nonce, refreshToken },
      deps,
    );
    const consumed = await deps.codes.consume(codeHash);
    if (consumed !== 'consumed') {
      // Lost a race with another redemption of the same code (or the code just expired): the
      // tokens made here are never handed out, and die with the grant.
      await revokeGrant(record.grantId, deps);
      throw consumed === 'reused'
        ? invalidGrant('authorization code was already used', 'code_reuse')
        : invalidGrant('authorization code is invalid or expired', 'code');
    }
    return response;
  };
}
