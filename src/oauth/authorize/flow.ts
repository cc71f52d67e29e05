import type { Clock, CodeStore, ExpiringStore } from '../../stores/ports.js';
import { hashOpaque, newOpaqueToken } from '../../tokens/opaque.js';
import type { Client } from '../clients.js';
import { OAuthError } from '../errors.js';
import { authorizationResponseUrl, type AuthorizationRequest } from './request.js';

/** A signed-in user at this provider (the session cookie names it). */
export interface Session {
  id: string;
  sub: string;
  /** Seconds since the epoch, for `auth_time` and `max_age`. */
  authTime: number;
}

export type NextStep =
  | { kind: 'login' }
  | { kind: 'consent' }
  | { kind: 'redirect'; url: string };

export interface AuthorizationFlowDeps {
  issuer: string;
  clock: Clock;
  codes: CodeStore;
  /** Scopes each user granted each client, keyed `${sub} ${client_id}`. */
  consents: ExpiringStore<string[]>;
  codeTtlMs: number;
  consentTtlMs: number;
}

export function consentKey(sub: string, clientId: string): string {
  return `${sub} ${clientId}`;
}

/**
 * What the authorization request needs next: a login, a consent, or the redirect with a code.
 * `fresh` says what the user just did in this interaction, so prompt=login and prompt=consent
 * ask once, not forever. With prompt=none the answer is an error redirect instead of a page.
 */
export async function nextAuthorizationStep(
  input: {
    request: AuthorizationRequest;
    client: Client;
    session: Session | undefined;
    fresh: { login: boolean; consent: boolean };
  },
  deps: AuthorizationFlowDeps,
): Promise<NextStep> {
  const { request, client, session, fresh } = input;
  const now = Math.floor(deps.clock() / 1000);
  const promptNone = request.prompt.includes('none');
  const errorRedirect = (code: 'login_required' | 'consent_required', description: string): NextStep => ({
    kind: 'redirect',
    url: authorizationResponseUrl(request.redirectUri, deps.issuer, request.state, {
      error: new OAuthError(code, description),
    }),
  });

  // OIDC Core §3.1.2.1: re-authenticate when the sign-in is older than max_age; max_age=0 is
  // prompt=login, even within the second of the last sign-in.
  const tooOld =
    session !== undefined && request.maxAge !== undefined && (request.maxAge === 0 || now - session.authTime > request.maxAge);
  if (!session || (!fresh.login && (request.prompt.includes('login') || tooOld))) {
    return promptNone ? errorRedirect('login_required', 'the user must sign in') : { kind: 'login' };
  }
  if (!client.first_party) {
    const granted = new Set((await deps.consents.get(consentKey(session.sub, client.client_id))) ?? []);
    const missing = request.scopes.some((scope) => !granted.has(scope));
    if (!fresh.consent && (missing || request.prompt.includes('consent'))) {
      return promptNone ? errorRedirect('consent_required', 'the user must consent') : { kind: 'consent' };
    }
  }
  const code = newOpaqueToken();
  await deps.codes.save(
    hashOpaque(code),
    {
      clientId: client.client_id,
      redirectUri: request.redirectUri,
      scopes: request.scopes,
      sub: session.sub,
      authTime: session.authTime,
      nonce: request.nonce,
      codeChallenge: request.codeChallenge,
      dpopJkt: request.dpopJkt,
      grantId: newOpaqueToken(16),
    },
    deps.codeTtlMs,
  );
  return { kind: 'redirect', url: authorizationResponseUrl(request.redirectUri, deps.issuer, request.state, { code }) };
}

/** Records the user's consent to the request's scopes (added to what they granted before). */
export async function recordConsent(sub: string, clientId: string, scopes: readonly string[], deps: AuthorizationFlowDeps): Promise<void> {
  const key = consentKey(sub, clientId);
  const previous = (await deps.consents.get(key)) ?? [];
  await deps.consents.set(key, [...new Set([...previous, ...scopes])], deps.consentTtlMs);
}
