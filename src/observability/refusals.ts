import type { DpopFailureReason } from '../lib/refusal-reason.js';
import type { OAuthError } from '../lib/oauth-error.js';

/**
 * What a refusal means for an operator: which DPoP check failed, which security event it is.
 * Label values come from these fixed lists only, never from what a client sent.
 */

/**
 * Every reason of the verifier (DpopFailureReason), and the DPoP checks made around it: the
 * proof key is not the one a code (`dpop_jkt`), refresh token or access token (`jkt`) is bound
 * to, a DPoP-bound token sent as Bearer, a Bearer token sent with the DPoP scheme.
 */
export const dpopRefusalReasons = [
  'missing',
  'multiple',
  'malformed',
  'typ',
  'alg',
  'jwk',
  'signature',
  'jti',
  'htm',
  'htu',
  'iat',
  'nonce',
  'ath',
  'replay',
  'replay_quota',
  'jkt',
  'dpop_jkt',
  'bearer_downgrade',
  'not_bound',
  'other',
] as const;

export type DpopRefusalReason = (typeof dpopRefusalReasons)[number];

type Never<T extends never> = T;
/** A reason added to the verifier without a label here does not compile. */
export type VerifierReasonsWithoutLabel = Never<Exclude<DpopFailureReason, DpopRefusalReason>>;

const listedReasons: ReadonlySet<string> = new Set(dpopRefusalReasons);
/** Reasons that are DPoP refusals whatever their error code (invalid_grant, invalid_token, a 429). */
const dpopReasonsUnderOtherCodes: ReadonlySet<string> = new Set(['replay_quota', 'jkt', 'dpop_jkt', 'bearer_downgrade', 'not_bound']);

/** The label of a DPoP refusal, or undefined when the error is not one. */
export function dpopRefusalReason(error: OAuthError): DpopRefusalReason | undefined {
  const reason = error.reason ?? 'other';
  if (error.code === 'invalid_dpop_proof' || error.code === 'use_dpop_nonce') {
    return listedReasons.has(reason) ? (reason as DpopRefusalReason) : 'other';
  }
  return dpopReasonsUnderOtherCodes.has(reason) ? (reason as DpopRefusalReason) : undefined;
}

/** Reuse of a single-use credential (RFC 6749 §4.1.2, RFC 9700 §4.14): the grant is revoked. */
export type ReuseKind = 'code' | 'refresh_token';

export function reuseKind(error: OAuthError): ReuseKind | undefined {
  if (error.reason === 'code_reuse') return 'code';
  if (error.reason === 'refresh_reuse') return 'refresh_token';
  return undefined;
}

/** Refusals logged at warn: someone may hold what was stolen, or is guessing. */
export const securityEvents = ['refresh_token_reuse', 'code_reuse', 'proof_replay', 'revoked_grant_use', 'sign_in_lockout'] as const;
export type SecurityEvent = (typeof securityEvents)[number];

/** `signInLockout`: the answer is a 429 at the sign-in form (too many attempts from one address). */
export function securityEventOf(error: OAuthError | undefined, signInLockout: boolean): SecurityEvent | undefined {
  if (signInLockout) return 'sign_in_lockout';
  switch (error?.reason) {
    case 'refresh_reuse':
      return 'refresh_token_reuse';
    case 'code_reuse':
      return 'code_reuse';
    case 'replay':
      return error.code === 'invalid_dpop_proof' ? 'proof_replay' : undefined;
    case 'revoked':
      return error.code === 'invalid_grant' ? 'revoked_grant_use' : undefined;
    default:
      return undefined;
  }
}
