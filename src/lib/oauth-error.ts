import { boundForDescription } from './bounded.js';
import type { RefusalReason } from './refusal-reason.js';

/**
 * The one error type of the protocol layer. Protocol code throws it with the RFC error code
 * and a machine-readable `reason`; the HTTP edge (src/http/error-handler.ts) turns it into a
 * status, a JSON body and headers. Protocol code never picks a status or a header: the edge
 * derives them from the code, the kind of route and the request (a Basic challenge answers a
 * request that used Basic); `retryAfterSeconds` makes temporarily_unavailable a 429.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'unsupported_token_type'
  | 'unsupported_response_type'
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'server_error'
  | 'temporarily_unavailable';

export interface OAuthErrorOptions {
  /** Why, for logs and metrics: htm, htu, iat, replay, nonce, ath, jkt, alg, typ, signature, ... */
  reason?: RefusalReason | undefined;
  /** A fresh nonce to send back in the `DPoP-Nonce` header. */
  dpopNonce?: string;
  /** Extra structured detail for the log line only (e.g. expected vs received htu). Never sent. */
  logDetail?: Record<string, unknown>;
  /**
   * The caller sent too much: answered 429 (RFC 6585 §4) with this in `Retry-After`
   * (RFC 9110 §10.2.3). Only with temporarily_unavailable, which is 503 without it.
   */
  retryAfterSeconds?: number;
  /**
   * At a protected resource: the scheme the client should use next (RFC 6750 §3, RFC 9449 §7.1).
   * 'none' means no usable credentials were presented: every scheme is offered, without error.
   */
  challenge?: ResourceChallenge | undefined;
}

/** The longest error_description sent or logged, whatever a description echoes. */
export const maxDescriptionLength = 256;

export type ResourceChallenge = 'DPoP' | 'Bearer' | 'none';

export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly reason: RefusalReason | undefined;
  readonly dpopNonce: string | undefined;
  readonly logDetail: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly challenge: ResourceChallenge | undefined;

  constructor(code: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}) {
    // RFC 6749 §4.1.2.1, §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E;
    // a description that echoes client input (a grant_type, a parameter name) is cut to that set,
    // and to a length: call sites bound what they echo, this catches any that does not.
    super(boundForDescription(description.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, ''), maxDescriptionLength));
    this.name = 'OAuthError';
    this.code = code;
    this.reason = options.reason;
    this.dpopNonce = options.dpopNonce;
    this.logDetail = options.logDetail;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.challenge = options.challenge;
  }

  private with(changes: OAuthErrorOptions): OAuthError {
    return new OAuthError(this.code, this.message, {
      reason: this.reason,
      dpopNonce: this.dpopNonce,
      logDetail: this.logDetail,
      retryAfterSeconds: this.retryAfterSeconds,
      challenge: this.challenge,
      ...changes,
    });
  }

  /** The same error, to be answered with a challenge for `challenge` at a protected resource. */
  withChallenge(challenge: ResourceChallenge): OAuthError {
    return this.with({ challenge });
  }
}

/** RFC 6749 §5.2 invalid_grant: the code, refresh token or its binding is not valid. */
export function invalidGrant(description: string, reason: RefusalReason): OAuthError {
  return new OAuthError('invalid_grant', description, { reason });
}

/**
 * RFC 6585 §4: the caller has sent too much, answered 429 with `Retry-After`. The code is
 * temporarily_unavailable, the one RFC 6749 code that tells a client to come back later.
 */
export function tooManyRequests(description: string, reason: RefusalReason, retryAfterSeconds: number): OAuthError {
  return new OAuthError('temporarily_unavailable', description, { reason, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
}
