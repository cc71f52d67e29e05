import { andThen, isPromise, rejectingThrows, type MaybePromise } from '../lib/maybe-promise.js';
import type { DpopNonces } from '../dpop/nonce.js';
import { singleDpopHeader, type DpopProofVerifier } from '../dpop/verify-proof.js';
import type { AccessTokenClaims } from '../tokens/access-token.js';
import type { ClientRegistry } from './clients.js';
import { OAuthError } from '../lib/oauth-error.js';
import { token68 } from '../lib/syntax.js';

/**
 * Access to a protected resource (the profile endpoint): RFC 6750 for Bearer tokens,
 * RFC 9449 §7 for DPoP. Answers the verified token claims, or rejects with an OAuthError whose
 * `challenge` says which scheme the client should use.
 */
export interface ResourceRequest {
  method: string;
  /** All Authorization header values as received. */
  authorizationHeaders: readonly string[];
  dpopHeaders: readonly string[];
  /** True when the query or body carries `access_token` or `token`: refused (RFC 9700 §2.1), only the header is accepted. */
  tokenInParameters: boolean;
}

export interface ResourceDeps {
  verifier: DpopProofVerifier;
  nonces: DpopNonces;
  clients: ClientRegistry;
  verifyAccessToken: (token: string) => MaybePromise<AccessTokenClaims>;
  /** The normalised URL of the resource, from the configured issuer. */
  resourceUrl: string;
  requireNonce: boolean;
}

export interface ResourceAccess {
  claims: AccessTokenClaims;
  /** A fresh resource nonce for the proof key (RFC 9449 §9), when DPoP was used and nonces are required. */
  dpopNonce: string | undefined;
}

/**
 * Answers at once when every port does (a token already verified, memory stores); otherwise a
 * promise. A refusal always rejects, never throws (src/lib/maybe-promise.ts).
 */
export function authorizeResourceRequest(request: ResourceRequest, deps: ResourceDeps): MaybePromise<ResourceAccess> {
  return rejectingThrows(() => {
    // RFC 9449 §7.1, RFC 9700 §2.1: never from the URL or the body; say what works instead.
    if (request.tokenInParameters) {
      throw new OAuthError(
        'invalid_request',
        'access tokens are accepted only in the Authorization header: send Authorization: DPoP <access token> with a DPoP proof whose ath is the hash of that token',
        { reason: 'token_in_query' },
      );
    }
    // RFC 9449 §7.2: e.g. both a Bearer and a DPoP Authorization header.
    if (request.authorizationHeaders.length > 1) {
      throw new OAuthError('invalid_request', 'more than one Authorization header', { reason: 'multiple_authorization' });
    }
    const authorization = request.authorizationHeaders[0]?.trim();
    const match = authorization ? /^(\S+) +(\S+)$/.exec(authorization) : null;
    const scheme = match?.[1]!.toLowerCase();
    if (!match || (scheme !== 'dpop' && scheme !== 'bearer')) {
      // No credentials this resource understands: a challenge without error (RFC 6750 §3.1).
      throw new OAuthError(
        'invalid_token',
        'an access token is required: send Authorization: DPoP <access token> with a DPoP proof carrying ath, or Authorization: Bearer <access token> for a token not bound to a key',
        { reason: 'no_credentials', challenge: 'none' },
      );
    }
    const token = match[2]!;
    if (!token68.test(token)) {
      throw new OAuthError('invalid_token', 'access token is malformed', {
        reason: 'malformed',
        challenge: scheme === 'dpop' ? 'DPoP' : 'Bearer',
      });
    }

    if (scheme === 'bearer') {
      return andThen(
        challenged(() => deps.verifyAccessToken(token), 'Bearer'),
        (claims) => {
          if (claims.cnf?.jkt) {
            // RFC 9449 §7.2: a DPoP-bound token presented as a Bearer token is refused.
            throw new OAuthError('invalid_token', 'DPoP-bound access token must be presented with the DPoP scheme', {
              reason: 'bearer_downgrade',
              challenge: 'DPoP',
            });
          }
          return { claims, dpopNonce: undefined };
        },
      );
    }
    return andThen(
      challenged(() => deps.verifyAccessToken(token), 'DPoP'),
      (claims) => checkProof(request, deps, token, claims),
    );
  });
}

/** RFC 9449 §7.1: the proof of a DPoP-scheme request, for the key the token is bound to, then its replay check. */
function checkProof(request: ResourceRequest, deps: ResourceDeps, token: string, claims: AccessTokenClaims): MaybePromise<ResourceAccess> {
  const proof = singleDpopHeader(request.dpopHeaders);
  if (proof === undefined) {
    throw new OAuthError('invalid_dpop_proof', 'a DPoP proof is required', { reason: 'missing', challenge: 'DPoP' });
  }
  const client = deps.clients.find(claims.client_id);
  const requireNonce = deps.requireNonce || (client?.dpop_require_nonce ?? false);
  const verified = challenged(
    () =>
      deps.verifier.verify({
        proof,
        method: request.method,
        expectedHtu: deps.resourceUrl,
        noncePurpose: 'resource',
        requireNonce,
        accessToken: token,
      }),
    'DPoP',
  );
  const boundJkt = claims.cnf?.jkt;
  if (!boundJkt) {
    throw new OAuthError('invalid_token', 'access token is not DPoP-bound', { reason: 'not_bound', challenge: 'DPoP' });
  }
  if (boundJkt !== verified.jkt) {
    // RFC 9449 §7.1 check: the proof key must be the key the token is bound to.
    throw new OAuthError('invalid_token', 'Invalid DPoP key binding', { reason: 'jkt', challenge: 'DPoP' });
  }
  // The replay check last: only a caller holding a valid token bound to this key gets this far,
  // and its entries are charged to the token's grant (client and user).
  return andThen(
    challenged(() => deps.verifier.claim(verified, `token:${claims.client_id}\n${claims.sub}`), 'DPoP'),
    () => ({
      claims,
      // As at the token endpoint: fresh nonces only where nonces are required (RFC 9449 §11.3).
      dpopNonce: requireNonce ? deps.nonces.issue('resource', verified.jkt) : undefined,
    }),
  );
}

/**
 * `run`, whose refusals carry `challenge`, thrown or rejected as `run` fails; at once when `run`
 * answers at once (src/lib/maybe-promise.ts).
 */
function challenged<T>(run: () => T, challenge: 'DPoP' | 'Bearer'): T {
  let result: T;
  try {
    result = run();
  } catch (error) {
    throw challengeOf(error, challenge);
  }
  const answer = result as MaybePromise<unknown>;
  if (!isPromise(answer)) return result;
  return answer.then(undefined, (error: unknown) => {
    throw challengeOf(error, challenge);
  }) as T;
}

function challengeOf(error: unknown, challenge: 'DPoP' | 'Bearer'): unknown {
  return error instanceof OAuthError && !error.challenge ? error.withChallenge(challenge) : error;
}
