import { findSession } from '../session.js';
import { continueAuthorization, type BrowserFlowDeps } from './flow.js';
import type { AuthorizationOutcome } from './outcome.js';
import { authorizationResponseUrl, validateAuthorizationRequest } from './request.js';

/**
 * The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2): validates the request, then
 * signs in, asks consent or redirects with a code, as the session and the request say. Nothing
 * is stored for a request that shows a page: its interaction travels sealed in a cookie.
 */
export async function authorize(
  params: Readonly<Record<string, unknown>>,
  cookies: { session: string | undefined },
  deps: BrowserFlowDeps,
): Promise<AuthorizationOutcome> {
  const result = validateAuthorizationRequest(params, deps.clients);
  if (!result.ok) {
    if (!result.redirect) return { kind: 'refused', error: result.error, cookies: {} };
    const url = authorizationResponseUrl(result.redirect.uri, deps.issuer, result.redirect.state, { error: result.error });
    return { kind: 'redirect', url, error: result.error, cookies: {} };
  }
  const session = await findSession(cookies.session, deps.sessions);
  return continueAuthorization({ request: result.request, client: result.client, session, interaction: undefined }, deps);
}
