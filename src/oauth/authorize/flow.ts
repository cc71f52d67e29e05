import type { Clock } from '../../lib/clock.js';
import type { CodeStore, ConsentStore, EndedInteractions, SessionRecord, SessionStore } from '../../stores/ports.js';
import { hashOpaque, newOpaqueToken } from '../../tokens/opaque.js';
import type { UserDirectory } from '../../users/directory.js';
import type { Client, ClientRegistry } from '../clients.js';
import { OAuthError } from '../../lib/oauth-error.js';
import { newInteraction, sealInteraction, type Interaction } from './interaction.js';
import type { InteractionSeal } from './interaction-seal.js';
import type { AuthorizationOutcome } from './outcome.js';
import { authorizationResponseUrl, type AuthorizationRequest } from './request.js';

/** The ports and settings of the browser half: authorize, sign-in, consent. */
export interface BrowserFlowDeps {
  issuer: string;
  clock: Clock;
  clients: ClientRegistry;
  users: UserDirectory;
  codes: CodeStore;
  consents: ConsentStore;
  sessions: SessionStore;
  endedInteractions: EndedInteractions;
  seal: InteractionSeal;
  codeTtlMs: number;
  consentTtlMs: number;
  sessionTtlMs: number;
  interactionTtlMs: number;
}

export type NextStep =
  { kind: 'login' } | { kind: 'consent' } | { kind: 'code'; session: SessionRecord } | { kind: 'error'; error: OAuthError };

/**
 * What the authorization request needs next: a login, a consent, a code, or (prompt=none) the
 * error instead of a page. `fresh` says what the user just did in this interaction, so
 * prompt=login and prompt=consent ask once, not forever. Only reads.
 */
export async function nextAuthorizationStep(
  input: {
    request: AuthorizationRequest;
    client: Client;
    session: SessionRecord | undefined;
    fresh: { login: boolean; consent: boolean };
  },
  deps: { clock: Clock; consents: ConsentStore },
): Promise<NextStep> {
  const { request, client, session, fresh } = input;
  const now = Math.floor(deps.clock() / 1000);
  const promptNone = request.prompt.includes('none');
  const promptNoneError = (code: 'login_required' | 'consent_required', description: string): NextStep => ({
    kind: 'error',
    error: new OAuthError(code, description, { reason: 'prompt_none' }),
  });

  // OIDC Core §3.1.2.1: re-authenticate when the sign-in is older than max_age; max_age=0 is
  // prompt=login, even within the second of the last sign-in.
  const tooOld = session !== undefined && request.maxAge !== undefined && (request.maxAge === 0 || now - session.authTime > request.maxAge);
  if (!session || (!fresh.login && (request.prompt.includes('login') || tooOld))) {
    return promptNone ? promptNoneError('login_required', 'the user must sign in') : { kind: 'login' };
  }
  if (!client.first_party) {
    const granted = new Set(await deps.consents.scopes(session.sub, client.client_id));
    const missing = request.scopes.some((scope) => !granted.has(scope));
    if (!fresh.consent && (missing || request.prompt.includes('consent'))) {
      return promptNone ? promptNoneError('consent_required', 'the user must consent') : { kind: 'consent' };
    }
  }
  return { kind: 'code', session };
}

/** Saves a new authorization code for the signed-in user and answers the redirect that carries it. */
export async function issueAuthorizationCode(
  request: AuthorizationRequest,
  session: SessionRecord,
  deps: { issuer: string; codes: CodeStore; codeTtlMs: number },
): Promise<string> {
  const code = newOpaqueToken();
  await deps.codes.save(
    hashOpaque(code),
    {
      clientId: request.clientId,
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
  return authorizationResponseUrl(request.redirectUri, deps.issuer, request.state, { code });
}

/** The one refusal of a form that cannot be continued; `reason` says why, for the log. */
export function interactionRefused(reason: 'interaction' | 'interaction_ended' | 'session'): OAuthError {
  return new OAuthError('invalid_request', 'this sign-in request has expired or is invalid; start again from the application', { reason });
}

/**
 * Ends the interaction, once: of two posts that both reach the end of one sign-in (a double
 * submit, a replay of its cookie and form), the second is refused, so one sign-in mints one code.
 */
export async function endInteraction(
  interaction: Interaction,
  deps: { clock: Clock; endedInteractions: EndedInteractions },
): Promise<boolean> {
  return deps.endedInteractions.end(interaction.id, Math.max(1, interaction.expiresAtMs - deps.clock()));
}

/**
 * Takes the request one step on: shows the page it needs (starting an interaction, sealed in
 * its cookie, when there is none yet), or ends with the redirect to the client. The interaction
 * is ended before a code is minted.
 */
export async function continueAuthorization(
  input: { request: AuthorizationRequest; client: Client; session: SessionRecord | undefined; interaction: Interaction | undefined },
  deps: BrowserFlowDeps,
): Promise<AuthorizationOutcome> {
  const { request, client, session } = input;
  const now = deps.clock();
  const step = await nextAuthorizationStep(
    { request, client, session, fresh: input.interaction?.fresh ?? { login: false, consent: false } },
    deps,
  );
  const endCookies = input.interaction ? { interaction: 'clear' as const } : {};
  const errorRedirect = (error: OAuthError): AuthorizationOutcome => ({
    kind: 'redirect',
    url: authorizationResponseUrl(request.redirectUri, deps.issuer, request.state, { error }),
    error,
    cookies: endCookies,
  });

  if (step.kind === 'login' || step.kind === 'consent') {
    const interaction = input.interaction ?? newInteraction(request, session?.sub, now, deps.interactionTtlMs);
    const sealed = sealInteraction(interaction, deps.seal);
    if (sealed === undefined) {
      return errorRedirect(
        new OAuthError('invalid_request', 'the request is too large to keep during sign-in', { reason: 'interaction_size' }),
      );
    }
    return {
      kind: 'page',
      page: step.kind,
      view: {
        interactionId: interaction.id,
        csrf: interaction.csrf,
        clientName: client.client_name ?? client.client_id,
        redirectUri: request.redirectUri,
        scopes: request.scopes,
        username: step.kind === 'login' ? request.loginHint : undefined,
      },
      loginFailed: false,
      cookies: { interaction: { value: sealed, maxAgeSeconds: Math.ceil((interaction.expiresAtMs - now) / 1000) } },
    };
  }
  if (input.interaction && !(await endInteraction(input.interaction, deps))) {
    return { kind: 'refused', error: interactionRefused('interaction_ended'), cookies: endCookies };
  }
  if (step.kind === 'error') return errorRedirect(step.error);
  const url = await issueAuthorizationCode(request, step.session, deps);
  return { kind: 'redirect', url, error: undefined, cookies: endCookies };
}
