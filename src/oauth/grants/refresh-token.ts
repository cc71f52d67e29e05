import { hashOpaque, newOpaqueToken } from '../../tokens/opaque.js';
import { OAuthError, invalidGrant } from '../errors.js';
import { parseScope } from '../scopes.js';
import type { GrantHandler } from './grant.js';
import { issueUserTokens, revokeGrant, type UserTokenDeps } from './user-tokens.js';

/**
 * RFC 6749 §6 with rotation and reuse detection (RFC 9700 §4.14): every use retires the token
 * and issues a successor; presenting a retired token revokes the whole grant. A DPoP-bound
 * refresh token (RFC 9449 §5) needs a proof by the same key, checked before anything is consumed.
 * Scope can be narrowed, never widened.
 */
export function refreshTokenGrant(deps: UserTokenDeps): GrantHandler {
  return async ({ client, params, dpop, claimProof }) => {
    const token = params.refresh_token;
    if (!token) throw new OAuthError('invalid_request', 'refresh_token is required', { reason: 'refresh_token' });
    const tokenHash = hashOpaque(token);
    const entry = await deps.refreshTokens.peek(tokenHash);
    if (!entry || entry.record.clientId !== client.client_id) {
      throw invalidGrant('refresh token is invalid or expired', 'refresh_token');
    }
    const { record } = entry;
    if (entry.used) {
      await claimProof(record.grantId);
      await revokeGrant(record.grantId, deps);
      throw invalidGrant('refresh token was already used; the grant is revoked', 'refresh_reuse');
    }
    const grant = await deps.grants.find(record.grantId);
    if (!grant) throw invalidGrant('refresh token is revoked', 'revoked');
    if (record.jkt !== undefined) {
      if (!dpop) throw new OAuthError('invalid_dpop_proof', 'the refresh token is DPoP-bound: a proof is required', { reason: 'missing' });
      if (dpop.jkt !== record.jkt) throw invalidGrant('DPoP proof key does not match the refresh token binding', 'jkt');
    }
    let scopes = record.scopes;
    // An empty scope is the same as none: keep the grant's scope (RFC 6749 §6).
    if (params.scope !== undefined && params.scope.trim() !== '') {
      const requested = parseScope(params.scope);
      const widened = requested.filter((scope) => !record.scopes.includes(scope));
      if (widened.length > 0) {
        throw new OAuthError('invalid_scope', `scope exceeds the grant: ${widened.join(' ')}`, { reason: 'scope' });
      }
      scopes = requested;
    }

    await claimProof(record.grantId);
    const next = newOpaqueToken();
    // Tokens first, the rotation last: a store failure while issuing (503) leaves the refresh
    // token unused, so the client's retry is not taken for reuse (which would revoke the grant).
    // The tokens are recorded on the grant, so losing the rotation to another use revokes them.
    const response = await issueUserTokens({ grant, client, scopes, jkt: dpop?.jkt, nonce: undefined, refreshToken: next }, deps);
    const rotated = await deps.refreshTokens.rotate(tokenHash, hashOpaque(next), {
      ...record,
      // RFC 9449 §5: a refresh token issued to a public client presenting a valid proof MUST be
      // bound, also when the token it replaces was obtained without one.
      jkt: record.jkt ?? (client.token_endpoint_auth_method === 'none' ? dpop?.jkt : undefined),
      expiresAtMs: deps.clock() + deps.refreshTokenTtlMs,
    });
    if (rotated === 'reused') {
      await revokeGrant(record.grantId, deps);
      throw invalidGrant('refresh token was already used; the grant is revoked', 'refresh_reuse');
    }
    if (rotated === 'missing') throw invalidGrant('refresh token is invalid or expired', 'refresh_token');
    return response;
  };
}
