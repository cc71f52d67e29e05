import type { RefreshTokenFamily } from '../../stores/ports.js';
import { hashOpaque } from '../../tokens/opaque.js';
import { newRefreshToken, refreshTokenFamily, sealContext, sealSuccessor, unsealSuccessor } from '../../tokens/refresh-token.js';
import { OAuthError, invalidGrant } from '../../lib/oauth-error.js';
import { parseScope } from '../scopes.js';
import type { GrantHandler, GrantRequest } from './grant.js';
import { isHolderRetry } from './retry.js';
import { issueUserTokens, revokeGrant, type UserTokenDeps } from './user-tokens.js';

/**
 * RFC 6749 §6 with rotation and reuse detection (RFC 9700 §4.14): every use retires the token
 * and issues a successor; presenting a retired token revokes the whole grant, except the
 * holder's retry of the token just replaced, within the grace and before the successor was
 * used, which is answered with a new access token and that same successor (isHolderRetry).
 * A DPoP-bound refresh token (RFC 9449 §5) needs a proof by the same key, checked before
 * anything is consumed. Scope can be narrowed, never widened.
 */
export function refreshTokenGrant(deps: UserTokenDeps): GrantHandler {
  return async (request) => {
    const { client, params, dpop, claimProof } = request;
    const token = params.refresh_token;
    if (!token) throw new OAuthError('invalid_request', 'refresh_token is required', { reason: 'refresh_token' });
    const familyId = refreshTokenFamily(token);
    const family = familyId === undefined ? undefined : await deps.refreshTokens.find(familyId);
    if (!familyId || !family || family.clientId !== client.client_id || family.expiresAtMs <= deps.clock()) {
      throw invalidGrant('refresh token is invalid or expired', 'refresh_token');
    }
    const tokenHash = hashOpaque(token);
    const reuse = async (): Promise<never> => {
      await claimProof(family.grantId);
      await revokeGrant(family.grantId, deps);
      throw invalidGrant('refresh token was already used; the grant is revoked', 'refresh_reuse');
    };
    const isCurrent = tokenHash === family.currentHash;
    if (!isCurrent && !isRetry(family, tokenHash, request, deps)) return reuse();

    const grant = await deps.grants.find(family.grantId);
    if (!grant) throw invalidGrant('refresh token is revoked', 'revoked');
    if (family.jkt !== undefined) {
      if (!dpop) throw new OAuthError('invalid_dpop_proof', 'the refresh token is DPoP-bound: a proof is required', { reason: 'missing' });
      if (dpop.jkt !== family.jkt) throw invalidGrant('DPoP proof key does not match the refresh token binding', 'jkt');
    }
    let scopes = family.scopes;
    // An empty scope is the same as none: keep the grant's scope (RFC 6749 §6).
    if (params.scope !== undefined && params.scope.trim() !== '') {
      const requested = parseScope(params.scope);
      const widened = requested.filter((scope) => !family.scopes.includes(scope));
      if (widened.length > 0) {
        throw new OAuthError('invalid_scope', `scope exceeds the grant: ${widened.join(' ')}`, { reason: 'scope' });
      }
      scopes = requested;
    }

    await claimProof(family.grantId);
    // Tokens first, the rotation last: a store failure while issuing (503) leaves the refresh
    // token unused, so the client's retry is not taken for reuse (which would revoke the grant).
    // The tokens are recorded on the grant, so losing the rotation to another use revokes them.
    const response = await issueUserTokens({ grant, client, scopes, jkt: dpop?.jkt, nonce: undefined, refreshToken: undefined }, deps);
    if (!isCurrent) {
      response.refresh_token = successorOf(family, token) ?? (await reuse());
      return response;
    }
    const next = newRefreshToken(familyId);
    const now = deps.clock();
    const rotated = await deps.refreshTokens.rotate(familyId, tokenHash, {
      hash: hashOpaque(next),
      sealed: sealSuccessor(next, token, sealContext(familyId, family.generation + 1)),
      // RFC 9449 §5: a refresh token issued to a public client presenting a valid proof MUST be
      // bound, also when the token it replaces was obtained without one.
      jkt: family.jkt ?? (client.token_endpoint_auth_method === 'none' ? dpop?.jkt : undefined),
      issuedAtMs: now,
      expiresAtMs: now + deps.refreshTokenTtlMs,
    });
    if (rotated.outcome === 'missing') throw invalidGrant('refresh token is invalid or expired', 'refresh_token');
    if (rotated.outcome === 'rotated') {
      response.refresh_token = next;
      return response;
    }
    // A concurrent request with the same token rotated first (two tabs, a client retrying a
    // request that was slow): the same holder gets the winner's successor, anyone else revokes.
    if (rotated.outcome === 'previous' && isRetry(rotated.family, tokenHash, request, deps)) {
      response.refresh_token = successorOf(rotated.family, token) ?? (await reuse());
      return response;
    }
    return reuse();
  };
}

/** The presented token is the one the current token replaced, and this is its holder's retry. */
function isRetry(family: RefreshTokenFamily, tokenHash: string, request: GrantRequest, deps: UserTokenDeps): boolean {
  return (
    family.previousHash !== undefined &&
    tokenHash === family.previousHash &&
    isHolderRetry({ atMs: family.issuedAtMs, jkt: family.jkt }, request, deps.clock(), deps.reuseGraceMs)
  );
}

/** The current token, opened with the token it replaced; undefined if that is not what sealed it. */
function successorOf(family: RefreshTokenFamily, previousToken: string): string | undefined {
  const familyId = refreshTokenFamily(previousToken);
  if (familyId === undefined) return undefined;
  const successor = unsealSuccessor(family.sealedCurrent, previousToken, sealContext(familyId, family.generation));
  return successor !== undefined && hashOpaque(successor) === family.currentHash ? successor : undefined;
}
