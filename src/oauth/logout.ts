import { compactVerify } from 'jose';
import { constantTimeEqual } from '../lib/constant-time.js';
import type { SessionStore } from '../stores/ports.js';
import type { SigningKeys } from '../tokens/keys.js';
import { hashOpaque } from '../tokens/opaque.js';
import type { Client, ClientRegistry } from './clients.js';
import { OAuthError } from '../lib/oauth-error.js';
import { findSession } from './session.js';

/**
 * OpenID Connect RP-Initiated Logout 1.0: who asks, and where the browser may go afterwards.
 * A post_logout_redirect_uri is followed only when it is registered for the client, so the
 * endpoint is no open redirector (RFC 9700 §4.11).
 */
export interface LogoutRequest {
  client: Client | undefined;
  redirectUri: string | undefined;
  state: string | undefined;
  /** `sub` of a valid id_token_hint: the RP vouches for which user is signing out. */
  hintSub: string | undefined;
}

/** Verifies an ID token we issued; expiry does not matter for a logout hint (§2). */
export async function verifyIdTokenHint(
  token: string,
  deps: { keys: SigningKeys; issuer: string },
): Promise<{ sub: string; aud: string } | undefined> {
  try {
    const { payload, protectedHeader } = await compactVerify(
      token,
      (header) => {
        const key = header.kid ? deps.keys.byKid.get(header.kid) : undefined;
        if (!key || key.alg !== header.alg) throw new Error('unknown key');
        return key.publicKey;
      },
      { algorithms: [...deps.keys.algorithms] },
    );
    // Only ID tokens (typ JWT); an access token (typ at+jwt) is no logout hint.
    if (protectedHeader.typ !== 'JWT') return undefined;
    const claims = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
    if (claims.iss !== deps.issuer || typeof claims.sub !== 'string' || typeof claims.aud !== 'string') return undefined;
    return { sub: claims.sub, aud: claims.aud };
  } catch {
    return undefined;
  }
}

export async function resolveLogoutRequest(
  params: Readonly<Record<string, unknown>>,
  deps: { clients: ClientRegistry; verifyIdTokenHint: (token: string) => Promise<{ sub: string; aud: string } | undefined> },
): Promise<LogoutRequest> {
  const text = (name: string): string | undefined => {
    const value = params[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string')
      throw new OAuthError('invalid_request', `parameter ${name} is repeated or malformed`, { reason: 'repeated' });
    return value;
  };
  const idTokenHint = text('id_token_hint');
  let hint: { sub: string; aud: string } | undefined;
  if (idTokenHint) {
    hint = await deps.verifyIdTokenHint(idTokenHint);
    if (!hint)
      throw new OAuthError('invalid_request', 'id_token_hint is not a valid ID token from this provider', { reason: 'id_token_hint' });
  }
  const clientId = text('client_id');
  if (clientId && hint && clientId !== hint.aud) {
    throw new OAuthError('invalid_request', 'client_id does not match the id_token_hint', { reason: 'client_id' });
  }
  const resolvedId = clientId ?? hint?.aud;
  const client = resolvedId ? deps.clients.find(resolvedId) : undefined;
  if (resolvedId && !client) throw new OAuthError('invalid_request', 'unknown client_id', { reason: 'client_id' });
  const redirectUri = text('post_logout_redirect_uri');
  if (redirectUri !== undefined && !client?.post_logout_redirect_uris.includes(redirectUri)) {
    throw new OAuthError('invalid_request', 'post_logout_redirect_uri is not registered for this client', {
      reason: 'post_logout_redirect_uri',
    });
  }
  return { client, redirectUri, state: text('state'), hintSub: hint?.sub };
}

/** Where the browser goes after signing out, with `state` (§3), or undefined for the provider's own page. */
export function postLogoutUrl(request: LogoutRequest): string | undefined {
  if (!request.redirectUri) return undefined;
  const url = new URL(request.redirectUri);
  if (request.state !== undefined) url.searchParams.set('state', request.state);
  return url.toString();
}

/**
 * What the end_session_endpoint answers: a refusal (a 400 page, never a redirect), the user
 * signed out (and where to), or the confirmation page with what its form posts back.
 */
export type LogoutOutcome =
  | { kind: 'refused'; error: OAuthError }
  /** `clearSessionCookie` only when the request carried the cookie (see endSession). */
  | { kind: 'signed_out'; redirectTo: string | undefined; clearSessionCookie: boolean }
  | { kind: 'confirm'; confirmation: LogoutConfirmation };

export interface LogoutConfirmation {
  csrf: string;
  client: Client | undefined;
  redirectUri: string | undefined;
  state: string | undefined;
  idTokenHint: string | undefined;
}

export interface LogoutDeps {
  sessions: SessionStore;
  clients: ClientRegistry;
  verifyIdTokenHint: (token: string) => Promise<{ sub: string; aud: string } | undefined>;
}

/** The confirmation form's CSRF token: derived from the session cookie, which only this browser has. */
export function logoutCsrf(sessionCookie: string): string {
  return hashOpaque(`logout\n${sessionCookie}`);
}

/**
 * RP-Initiated Logout 1.0 §2-§3: signs out at once when no one is signed in, when the RP's
 * id_token_hint names the signed-in user, or on the confirmation form's POST with its CSRF
 * token; otherwise asks the user to confirm.
 */
export async function endSession(
  input: { params: Readonly<Record<string, unknown>>; method: 'GET' | 'POST'; sessionCookie: string | undefined },
  deps: LogoutDeps,
): Promise<LogoutOutcome> {
  let logout: LogoutRequest;
  try {
    logout = await resolveLogoutRequest(input.params, deps);
  } catch (error) {
    if (error instanceof OAuthError) return { kind: 'refused', error };
    throw error;
  }
  const cookie = input.sessionCookie;
  const session = await findSession(cookie, deps.sessions);
  const redirectTo = postLogoutUrl(logout);
  // Only a request that carried the cookie clears it: a cross-site POST carries no SameSite=Lax
  // cookie, yet the browser applies the Set-Cookie of that top-level response, which would
  // sign the user out without the confirmation.
  if (!session || !cookie) return { kind: 'signed_out', redirectTo, clearSessionCookie: Boolean(cookie) };

  const expected = logoutCsrf(cookie);
  const csrf = input.params.csrf;
  const confirmed = input.method === 'POST' && typeof csrf === 'string' && constantTimeEqual(csrf, expected);
  // A valid id_token_hint for the signed-in user is the RP's word; otherwise the user confirms.
  if (confirmed || (logout.hintSub !== undefined && logout.hintSub === session.sub)) {
    await deps.sessions.end(session.id);
    return { kind: 'signed_out', redirectTo, clearSessionCookie: true };
  }
  const idTokenHint = input.params.id_token_hint;
  return {
    kind: 'confirm',
    confirmation: {
      csrf: expected,
      client: logout.client,
      redirectUri: logout.redirectUri,
      state: logout.state,
      idTokenHint: typeof idTokenHint === 'string' && idTokenHint ? idTokenHint : undefined,
    },
  };
}
