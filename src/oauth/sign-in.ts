import { continueAuthorization, interactionRefused, type BrowserFlowDeps } from './authorize/flow.js';
import { resumeInteraction } from './authorize/interaction.js';
import type { AuthorizationOutcome } from './authorize/outcome.js';
import { startSession } from './session.js';

export interface SignInForm {
  interaction?: string | undefined;
  csrf?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

/**
 * The login form's POST: checks the interaction (cookie, form and CSRF token together), the
 * username and password, then starts a new session and takes the request on.
 */
export async function signIn(
  form: SignInForm,
  cookies: { interaction: string | undefined; session: string | undefined },
  deps: BrowserFlowDeps,
): Promise<AuthorizationOutcome> {
  const interaction = resumeInteraction(form, cookies.interaction, deps);
  const client = interaction && deps.clients.find(interaction.request.clientId);
  if (!interaction || !client) return { kind: 'refused', error: interactionRefused('interaction'), cookies: {} };

  const user = await deps.users.authenticate(form.username ?? '', form.password ?? '');
  if (!user) {
    // One answer for a wrong username and a wrong password; the interaction stays as it was.
    return {
      kind: 'page',
      page: 'login',
      view: {
        interactionId: interaction.id,
        csrf: interaction.csrf,
        clientName: client.client_name ?? client.client_id,
        redirectUri: interaction.request.redirectUri,
        scopes: interaction.request.scopes,
        username: form.username ?? '',
      },
      loginFailed: true,
      cookies: {},
    };
  }
  const { cookie, session } = await startSession(user.sub, cookies.session, deps);
  const signedIn = { ...interaction, sub: user.sub, fresh: { ...interaction.fresh, login: true } };
  const outcome = await continueAuthorization({ request: interaction.request, client, session, interaction: signedIn }, deps);
  return { ...outcome, cookies: { ...outcome.cookies, session: { value: cookie, maxAgeSeconds: Math.floor(deps.sessionTtlMs / 1000) } } };
}
