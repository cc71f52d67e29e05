import { OAuthError } from '../lib/oauth-error.js';
import { continueAuthorization, endInteraction, interactionRefused, type BrowserFlowDeps } from './authorize/flow.js';
import { resumeInteraction } from './authorize/interaction.js';
import type { AuthorizationOutcome } from './authorize/outcome.js';
import { authorizationResponseUrl } from './authorize/request.js';
import { findSession } from './session.js';

export interface ConsentForm {
  interaction?: string | undefined;
  csrf?: string | undefined;
  decision?: string | undefined;
}

/**
 * The consent form's POST. Only the user the interaction is for, still signed in, may answer;
 * a deny ends the interaction with access_denied (RFC 6749 §4.1.2.1), an allow records the
 * consent (added to what was granted before) and takes the request on to its code.
 */
export async function answerConsent(
  form: ConsentForm,
  cookies: { interaction: string | undefined; session: string | undefined },
  deps: BrowserFlowDeps,
): Promise<AuthorizationOutcome> {
  const interaction = resumeInteraction(form, cookies.interaction, deps);
  const client = interaction && deps.clients.find(interaction.request.clientId);
  if (!interaction || !client) return { kind: 'refused', error: interactionRefused('interaction'), cookies: {} };
  const session = await findSession(cookies.session, deps.sessions);
  if (!session || session.sub !== interaction.sub) return { kind: 'refused', error: interactionRefused('session'), cookies: {} };

  const { request } = interaction;
  if (form.decision !== 'allow') {
    if (!(await endInteraction(interaction, deps))) {
      return { kind: 'refused', error: interactionRefused('interaction_ended'), cookies: { interaction: 'clear' } };
    }
    const error = new OAuthError('access_denied', 'the user denied the request', { reason: 'consent_denied' });
    const url = authorizationResponseUrl(request.redirectUri, deps.issuer, request.state, { error });
    return { kind: 'redirect', url, error, cookies: { interaction: 'clear' } };
  }
  await deps.consents.grant(session.sub, client.client_id, request.scopes, deps.consentTtlMs);
  const consented = { ...interaction, fresh: { ...interaction.fresh, consent: true } };
  return continueAuthorization({ request, client, session, interaction: consented }, deps);
}
