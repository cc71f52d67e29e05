import type { CodeRedemption, CodeStore, GrantRecord, GrantStore, RefreshTokenFamily } from '../../stores/ports.js';
import { hashOpaque } from '../../tokens/opaque.js';
import { newRefreshToken, refreshFamilyId, sealContext, sealSuccessor, unsealSuccessor } from '../../tokens/refresh-token.js';
import type { Client } from '../clients.js';
import { OAuthError, invalidGrant } from '../../lib/oauth-error.js';
import { verifyPkce } from '../pkce.js';
import type { GrantHandler } from './grant.js';
import { isHolderRetry } from './retry.js';
import { issueUserTokens, revokeGrant, wantsRefreshToken, type UserTokenDeps } from './user-tokens.js';

/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636) and DPoP code binding (RFC 9449 §10). Every check runs
 * before the code is consumed, so a failed request never burns it; a second use of a consumed
 * code fails and revokes what the first use issued (RFC 6749 §4.1.2). Except one case: the
 * redeemer's own retry within the grace (isHolderRetry) while the refresh token of the first
 * answer is still unused. The server cannot know whether an answer reached the client (a
 * timed-out store write may still have happened); an unused refresh token says that, as far as
 * anyone can tell, it did not, and the retry gets the same refresh token and a new access token.
 */
export function authorizationCodeGrant(deps: UserTokenDeps & { codes: CodeStore; grants: GrantStore; grantTtlMs: number }): GrantHandler {
  return async (request) => {
    const { client, params, dpop, claimProof } = request;
    const code = params.code;
    if (!code) throw new OAuthError('invalid_request', 'code is required', { reason: 'code' });
    const codeHash = hashOpaque(code);
    const entry = await deps.codes.peek(codeHash);
    if (!entry || entry.record.clientId !== client.client_id) {
      throw invalidGrant('authorization code is invalid or expired', 'code');
    }
    const { record } = entry;
    const reuse = async (): Promise<never> => {
      await claimProof(record.grantId);
      await revokeGrant(record.grantId, deps);
      throw invalidGrant('authorization code was already used', 'code_reuse');
    };
    const isHolders = (redemption: CodeRedemption | undefined) =>
      redemption !== undefined && isHolderRetry(redemption, request, deps.clock(), deps.reuseGraceMs);
    if (entry.used && !isHolders(entry.redemption)) return reuse();
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
    const grant: GrantRecord = {
      id: record.grantId,
      clientId: client.client_id,
      sub: record.sub,
      scopes: record.scopes,
      authTime: record.authTime,
    };
    if (entry.used) {
      // The holder's retry of a redemption already recorded: answer from what it made.
      const active = await deps.grants.find(grant.id);
      if (!active) throw invalidGrant('the grant has been revoked', 'revoked');
      const refreshToken = wantsRefreshToken(client, record.scopes)
        ? ((await unusedRefreshToken(grant.id, code, deps)) ?? (await reuse()))
        : undefined;
      return issueUserTokens({ grant: active, client, scopes: record.scopes, jkt: dpop?.jkt, nonce: record.nonce, refreshToken }, deps);
    }
    // The grant and its tokens exist before the code counts as used: a reuse seen from then on
    // (here or on another instance) always finds them to revoke, and a store failure while
    // issuing (503) leaves the code unused for the client's retry instead of burning it.
    await deps.grants.create(grant, deps.grantTtlMs);
    let refreshToken: string | undefined;
    if (wantsRefreshToken(client, record.scopes)) {
      refreshToken = (await createRefreshToken(grant.id, code, client, dpop?.jkt, record.scopes, deps)) ?? (await reuse());
    }
    const response = await issueUserTokens(
      { grant, client, scopes: record.scopes, jkt: dpop?.jkt, nonce: record.nonce, refreshToken },
      deps,
    );
    const consumed = await deps.codes.consume(codeHash, { atMs: deps.clock(), jkt: dpop?.jkt });
    if (consumed === 'consumed') return response;
    if (consumed === 'reused') {
      // Lost a race with another redemption of the same code: the holder's twin request shares
      // its refresh token and keeps its own access token; anyone else's revokes the grant (and
      // with it the tokens made here, recorded on it, which are then never handed out).
      if (isHolders((await deps.codes.peek(codeHash))?.redemption)) return response;
      return reuse();
    }
    // The code expired meanwhile: the tokens made here die with the grant.
    await revokeGrant(record.grantId, deps);
    throw invalidGrant('authorization code is invalid or expired', 'code');
  };
}

/**
 * The grant's first refresh token (generation 0), sealed under the code so that a retry of the
 * same code can be given the same one. When an earlier attempt with this code already made the
 * family, its token is the answer (one refresh token per grant); undefined when that one was
 * already used, so the code's answer did reach someone: this is then reuse.
 */
async function createRefreshToken(
  grantId: string,
  code: string,
  client: Client,
  proofJkt: string | undefined,
  scopes: string[],
  deps: UserTokenDeps,
): Promise<string | undefined> {
  const familyId = refreshFamilyId(grantId);
  const token = newRefreshToken(familyId);
  const now = deps.clock();
  const stored = await deps.refreshTokens.create(familyId, {
    grantId,
    clientId: client.client_id,
    scopes,
    // RFC 9449 §5: a public client's refresh token is bound to its DPoP key; a confidential
    // client's is constrained by its authentication instead.
    jkt: client.token_endpoint_auth_method === 'none' ? proofJkt : undefined,
    expiresAtMs: now + deps.refreshTokenTtlMs,
    generation: 0,
    currentHash: hashOpaque(token),
    previousHash: undefined,
    issuedAtMs: now,
    sealedCurrent: sealSuccessor(token, code, sealContext(familyId, 0)),
  });
  return stored.currentHash === hashOpaque(token) ? token : openedWithCode(stored, familyId, code);
}

/** The grant's generation-0 refresh token, opened with the code; undefined once it has been used (or is gone). */
async function unusedRefreshToken(grantId: string, code: string, deps: UserTokenDeps): Promise<string | undefined> {
  const familyId = refreshFamilyId(grantId);
  const family = await deps.refreshTokens.find(familyId);
  return family && openedWithCode(family, familyId, code);
}

function openedWithCode(family: RefreshTokenFamily, familyId: string, code: string): string | undefined {
  if (family.generation !== 0) return undefined;
  const token = unsealSuccessor(family.sealedCurrent, code, sealContext(familyId, 0));
  return token !== undefined && hashOpaque(token) === family.currentHash ? token : undefined;
}
