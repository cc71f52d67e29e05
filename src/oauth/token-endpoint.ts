import type { DpopNonces } from '../dpop/nonce.js';
import { singleDpopHeader, type DpopProofVerifier, type VerifiedDpopProof } from '../dpop/verify-proof.js';
import type { ClientAssertionDeps } from './client-assertion.js';
import type { ClientAuthLimiter } from './client-auth-limiter.js';
import { authenticateClient, clientCredentialsFrom } from './client-auth.js';
import type { Client, ClientRegistry } from './clients.js';
import { boundForDescription } from '../lib/bounded.js';
import { OAuthError } from '../lib/oauth-error.js';
import type { GrantHandler, TokenResponse } from './grants/grant.js';
import { andThen, rejectingThrows, type MaybePromise } from '../lib/maybe-promise.js';

/**
 * The token endpoint (RFC 6749 §3.2) as one protocol function: authenticate the client, check
 * the grant type, verify the DPoP proof, then hand over to the grant. The proof is verified
 * before any grant runs, so a bad proof never consumes a code or refresh token (RFC 9449 §5).
 */
export interface TokenEndpointRequest {
  params: Readonly<Record<string, string | undefined>>;
  authorization: string | undefined;
  dpopHeaders: readonly string[];
  /** The caller's address, for throttling failed client authentication. */
  address?: string;
}

export interface TokenEndpointDeps {
  clients: ClientRegistry;
  /** For private_key_jwt client authentication. */
  assertions: ClientAssertionDeps;
  clientAuthLimiter?: ClientAuthLimiter;
  verifier: DpopProofVerifier;
  nonces: DpopNonces;
  grants: Readonly<Record<string, GrantHandler>>;
  /** The normalised URL of this endpoint, from the configured issuer. */
  tokenUrl: string;
  requireNonce: boolean;
}

export interface TokenEndpointResult {
  body: TokenResponse;
  /** A fresh nonce for the proof key when nonces are required, sent back in `DPoP-Nonce` (RFC 9449 §8.2). */
  dpopNonce: string | undefined;
}

/**
 * Answers at once when every port it asks does (memory stores, client_credentials); otherwise a
 * promise. A refusal always rejects, never throws (src/lib/maybe-promise.ts).
 */
export function handleTokenRequest(request: TokenEndpointRequest, deps: TokenEndpointDeps): MaybePromise<TokenEndpointResult> {
  return rejectingThrows(() => {
    const { params } = request;
    const grantType = params.grant_type;
    if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required', { reason: 'grant_type' });
    // Own properties only: grant_type=constructor or __proto__ must not find Object's members.
    const grant = Object.hasOwn(deps.grants, grantType) ? deps.grants[grantType] : undefined;
    if (!grant)
      throw new OAuthError('unsupported_grant_type', `grant_type ${boundForDescription(grantType)} is not supported`, {
        reason: 'grant_type',
      });
    const authenticated = authenticateClient(clientCredentialsFrom(params, request.authorization, request.address), deps);
    return andThen(authenticated, (client) => runGrant(request, deps, grantType, grant, client));
  });
}

/** After client authentication: the grant type allowed, the proof verified, the grant run, the proof claimed. */
function runGrant(
  request: TokenEndpointRequest,
  deps: TokenEndpointDeps,
  grantType: string,
  grant: GrantHandler,
  client: Client,
): MaybePromise<TokenEndpointResult> {
  const { params } = request;
  if (!(client.grant_types as readonly string[]).includes(grantType)) {
    throw new OAuthError('unauthorized_client', `client may not use grant_type ${grantType}`, { reason: 'grant_type' });
  }

  const proof = singleDpopHeader(request.dpopHeaders);
  const requireNonce = deps.requireNonce || client.dpop_require_nonce;
  let dpop: VerifiedDpopProof | undefined;
  if (proof !== undefined) {
    dpop = deps.verifier.verify({
      proof,
      method: 'POST',
      expectedHtu: deps.tokenUrl,
      noncePurpose: 'token',
      requireNonce,
    });
  } else if (client.dpop_bound_access_tokens) {
    // RFC 9449 §5.2: such a client's token requests must carry a proof.
    throw new OAuthError('invalid_dpop_proof', 'a DPoP proof is required for this client', { reason: 'missing' });
  }

  let claimed = false;
  const claimProof = (grantId?: string): MaybePromise<void> => {
    if (!dpop || claimed) return;
    claimed = true;
    return deps.verifier.claim(
      dpop,
      client.token_endpoint_auth_method === 'none' && grantId ? `grant:${grantId}` : `client:${client.client_id}`,
    );
  };
  return andThen(grant({ client, params, dpop, claimProof }), (body) =>
    // Every grant claims before it writes; this keeps a grant that forgot from skipping the check.
    andThen(dpop && !claimed ? claimProof() : undefined, () => ({
      body,
      // A fresh nonce goes only to clients that must use nonces: handing one to a client whose
      // nonce-less proofs are still accepted would be the downgrade RFC 9449 §11.3 forbids.
      dpopNonce: dpop && requireNonce ? deps.nonces.issue('token', dpop.jkt) : undefined,
    })),
  );
}
