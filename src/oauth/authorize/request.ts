import type { RefusalReason } from '../../lib/refusal-reason.js';
import { boundForDescription } from '../../lib/bounded.js';
import type { Client, ClientRegistry } from '../clients.js';
import { OAuthError } from '../../lib/oauth-error.js';
import { grantScopes } from '../scopes.js';

/** A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1), kept across login and consent. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  state: string | undefined;
  nonce: string | undefined;
  scopes: string[];
  codeChallenge: string | undefined;
  dpopJkt: string | undefined;
  prompt: string[];
  maxAge: number | undefined;
  loginHint: string | undefined;
}

export type AuthorizationRequestResult =
  | { ok: true; request: AuthorizationRequest; client: Client }
  /** The client or redirect URI cannot be trusted: show an error page, never redirect (RFC 6749 §4.1.2.1). */
  | { ok: false; error: OAuthError; redirect: undefined }
  /** Everything else goes back to the client's redirect URI. */
  | { ok: false; error: OAuthError; redirect: { uri: string; state: string | undefined } };

const base64url43 = /^[A-Za-z0-9_-]{43}$/;
const prompts = new Set(['none', 'login', 'consent']);

// Bounds on the request, checked before any other work: a request is parsed, kept in a pending
// sign-in and echoed back in the redirect, so without them one POST of 64 KB costs that much
// memory and comes back as a 64 KB Location. In characters, after URL decoding.

/** All names and values together: room for every parameter at its longest, and more. */
export const maxAuthorizationRequestLength = 8192;
/** Echoed in every redirect; an opaque client value (a CSRF token, a return path). */
export const maxStateLength = 1024;
/** Bounded parameters; a parameter over its bound is refused with its name as the reason. */
const maxParameterLength = {
  // Space-separated scope tokens: far more than any client asks for.
  scope: 1024,
  // Copied into the ID token.
  nonce: 512,
  // Kept in the pending sign-in before anyone signs in; no username is longer than 255.
  login_hint: 255,
} as const satisfies Readonly<Record<string, number>>;

function parameterLength(name: string, value: unknown): number {
  if (typeof value === 'string') return name.length + value.length;
  // A repeated parameter arrives as an array of strings; anything else counts by its name only.
  if (Array.isArray(value))
    return value.reduce((sum: number, entry) => sum + name.length + (typeof entry === 'string' ? entry.length : 0), 0);
  return name.length;
}

/** The first bound the request exceeds, as the error to send, or undefined. */
function oversized(params: Readonly<Record<string, unknown>>): OAuthError | undefined {
  for (const name of Object.keys(maxParameterLength) as (keyof typeof maxParameterLength)[]) {
    const max = maxParameterLength[name];
    const value = params[name];
    if (typeof value === 'string' && value.length > max) return invalid('invalid_request', `${name} is too long`, name);
  }
  let total = 0;
  for (const [name, value] of Object.entries(params)) total += parameterLength(name, value);
  if (total > maxAuthorizationRequestLength) return invalid('invalid_request', 'the request is too large', 'request_size');
  return undefined;
}

function invalid(code: ConstructorParameters<typeof OAuthError>[0], description: string, reason: RefusalReason): OAuthError {
  return new OAuthError(code, description, { reason });
}

/**
 * Checks the request in the order that decides where errors go: first the client and the
 * exact redirect URI (RFC 9700 §2.1: exact string match), then the size of the request, then
 * everything else. A state too long to echo is refused on a page: the redirect would carry it.
 */
export function validateAuthorizationRequest(
  params: Readonly<Record<string, unknown>>,
  clients: ClientRegistry,
): AuthorizationRequestResult {
  const clientId = params.client_id;
  const client = typeof clientId === 'string' ? clients.find(clientId) : undefined;
  if (!client || !client.grant_types.includes('authorization_code')) {
    return { ok: false, error: invalid('invalid_request', 'unknown client_id', 'client_id'), redirect: undefined };
  }
  const redirectUri = params.redirect_uri;
  if (typeof redirectUri !== 'string' || !client.redirect_uris.includes(redirectUri)) {
    return {
      ok: false,
      error: invalid('invalid_request', 'redirect_uri is missing or not registered for this client', 'redirect_uri'),
      redirect: undefined,
    };
  }
  const state = typeof params.state === 'string' ? params.state : undefined;
  if (state !== undefined && state.length > maxStateLength) {
    return { ok: false, error: invalid('invalid_request', 'state is too long', 'state'), redirect: undefined };
  }
  const redirect = { uri: redirectUri, state };
  const fail = (error: OAuthError): AuthorizationRequestResult => ({ ok: false, error, redirect });

  const tooLarge = oversized(params);
  if (tooLarge) return fail(tooLarge);

  // RFC 6749 §3.1: a parameter must not be repeated; it then arrives as an array.
  const repeated = Object.entries(params).find(([, value]) => typeof value !== 'string');
  if (repeated)
    return fail(invalid('invalid_request', `parameter ${boundForDescription(repeated[0])} is repeated or malformed`, 'repeated'));
  const param = (name: string) => params[name] as string | undefined;

  if (param('request') !== undefined || param('request_uri') !== undefined) {
    return fail(invalid('invalid_request', 'request objects are not supported', 'request_object'));
  }
  // Only the code flow: no implicit or hybrid (RFC 9700 §2.1.2).
  if (param('response_type') !== 'code') {
    return fail(invalid('unsupported_response_type', 'response_type must be code', 'response_type'));
  }
  const responseMode = param('response_mode');
  if (responseMode !== undefined && responseMode !== 'query') {
    return fail(invalid('invalid_request', 'response_mode must be query', 'response_mode'));
  }

  // No default scope for a user's grant: the client says what it asks for (RFC 6749 §3.3).
  if (!param('scope')?.trim()) return fail(invalid('invalid_scope', 'scope is required', 'scope'));
  let scopes: string[];
  try {
    scopes = grantScopes(param('scope'), client.scopes);
  } catch (error) {
    return fail(error as OAuthError);
  }

  // PKCE (RFC 7636, RFC 9700 §2.1.1): S256 only; required of public clients.
  const codeChallenge = param('code_challenge');
  const method = param('code_challenge_method');
  if (codeChallenge === undefined) {
    if (client.token_endpoint_auth_method === 'none') {
      return fail(invalid('invalid_request', 'code_challenge is required (PKCE with S256)', 'pkce'));
    }
    if (method !== undefined) return fail(invalid('invalid_request', 'code_challenge_method without code_challenge', 'pkce'));
  } else {
    if (method !== 'S256') return fail(invalid('invalid_request', 'code_challenge_method must be S256', 'pkce'));
    if (!base64url43.test(codeChallenge)) return fail(invalid('invalid_request', 'code_challenge is malformed', 'pkce'));
  }

  // RFC 9449 §10: dpop_jkt is a base64url SHA-256 JWK thumbprint.
  const dpopJkt = param('dpop_jkt');
  if (dpopJkt !== undefined && !base64url43.test(dpopJkt)) {
    return fail(invalid('invalid_request', 'dpop_jkt is malformed', 'dpop_jkt'));
  }

  const prompt = (param('prompt') ?? '').split(' ').filter(Boolean);
  if (!prompt.every((value) => prompts.has(value))) {
    return fail(invalid('invalid_request', 'prompt must be none, login or consent', 'prompt'));
  }
  if (prompt.includes('none') && prompt.length > 1) {
    return fail(invalid('invalid_request', 'prompt=none cannot be combined with other values', 'prompt'));
  }

  const maxAgeText = param('max_age');
  let maxAge: number | undefined;
  if (maxAgeText !== undefined) {
    if (!/^\d{1,9}$/.test(maxAgeText)) return fail(invalid('invalid_request', 'max_age must be a number of seconds', 'max_age'));
    maxAge = Number(maxAgeText);
  }

  const nonce = param('nonce');
  const loginHint = param('login_hint');

  return {
    ok: true,
    client,
    request: {
      clientId: client.client_id,
      redirectUri,
      state,
      nonce,
      scopes,
      codeChallenge,
      dpopJkt,
      prompt,
      maxAge,
      loginHint,
    },
  };
}

/** The authorization response URL (RFC 6749 §4.1.2) with `iss` (RFC 9207) and `state`. */
export function authorizationResponseUrl(
  redirectUri: string,
  issuer: string,
  state: string | undefined,
  result: { code: string } | { error: OAuthError },
): string {
  const url = new URL(redirectUri);
  if ('code' in result) {
    url.searchParams.set('code', result.code);
  } else {
    url.searchParams.set('error', result.error.code);
    url.searchParams.set('error_description', result.error.message);
  }
  if (state !== undefined) url.searchParams.set('state', state);
  url.searchParams.set('iss', issuer);
  return url.toString();
}
