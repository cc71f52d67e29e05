import type { OAuthError } from '../../lib/oauth-error.js';

/** A cookie the browser is to keep: the sealed interaction, or a new session id. */
export interface CookieToSet {
  value: string;
  maxAgeSeconds: number;
}

export interface OutcomeCookies {
  /** The pending sign-in to keep, or 'clear' once it has ended. */
  interaction?: CookieToSet | 'clear';
  session?: CookieToSet;
}

/** What a login or consent page shows and posts back. */
export interface InteractionView {
  interactionId: string;
  csrf: string;
  clientName: string;
  /** The page's form ends in a redirect there: its origin goes in form-action. */
  redirectUri: string;
  scopes: readonly string[];
  /** Filled in: the login_hint, or what was typed before a failed attempt. */
  username: string | undefined;
}

/**
 * What a step of the browser flow (authorize, sign-in, consent) answers; the routes render it.
 * `refused`: cannot go back to the client (RFC 6749 §4.1.2.1), a 400 page. `redirect`: back to
 * the client with a code or an error (`error` is set for an error, to be logged). `page`: the
 * login or consent page; `loginFailed` when it answers a wrong username or password (401).
 */
export type AuthorizationOutcome =
  | { kind: 'refused'; error: OAuthError; cookies: OutcomeCookies }
  | { kind: 'redirect'; url: string; error: OAuthError | undefined; cookies: OutcomeCookies }
  | { kind: 'page'; page: 'login' | 'consent'; view: InteractionView; loginFailed: boolean; cookies: OutcomeCookies };
