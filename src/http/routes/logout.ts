import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Session } from '../../oauth/authorize/flow.js';
import { OAuthError } from '../../oauth/errors.js';
import { postLogoutUrl, type LogoutRequest } from '../../oauth/logout.js';
import type { ExpiringStore } from '../../stores/ports.js';
import { hashOpaque } from '../../tokens/opaque.js';
import { cookieOptions, currentSession, sessionCookie } from '../cookies.js';
import { renderLoggedOutPage, renderLogoutPage } from '../pages/logout-page.js';
import { sendErrorPage, sendPage } from '../pages/send-page.js';
import { constantTimeEqual } from '../../lib/constant-time.js';

/** The end_session_endpoint (OIDC RP-Initiated Logout 1.0), GET and POST. */
export function registerLogoutRoute(
  app: FastifyInstance,
  deps: {
    path: string;
    issuer: string;
    sessions: ExpiringStore<Session>;
    resolve: (params: Readonly<Record<string, unknown>>) => Promise<LogoutRequest>;
  },
): void {
  // The confirmation form's CSRF token is derived from the session cookie, which only this browser has.
  const csrfFor = (cookie: string) => hashOpaque(`logout\n${cookie}`);

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = ((request.method === 'GET' ? request.query : request.body) ?? {}) as Record<string, unknown>;
    let logout: LogoutRequest;
    try {
      logout = await deps.resolve(params);
    } catch (error) {
      if (error instanceof OAuthError) return sendErrorPage(reply, 400, error);
      throw error;
    }
    const cookie = request.cookies[sessionCookie];
    const session = await currentSession(request, deps.sessions);
    const target = postLogoutUrl(logout);
    const finish = async () => {
      if (session) await deps.sessions.delete(session.id);
      // Only a request that carried the cookie clears it: a cross-site POST carries no SameSite=Lax
      // cookie, yet the browser applies the Set-Cookie of that top-level response, which would
      // sign the user out without the confirmation.
      if (cookie) reply.clearCookie(sessionCookie, cookieOptions(deps.issuer));
      if (target) return reply.header('cache-control', 'no-store').redirect(target, 303);
      return sendPage(reply, 200, renderLoggedOutPage());
    };
    if (!session || !cookie) return finish();

    const csrf = typeof params.csrf === 'string' ? params.csrf : undefined;
    const expected = csrfFor(cookie);
    const confirmed =
      request.method === 'POST' && csrf !== undefined && constantTimeEqual(csrf, expected);
    // A valid id_token_hint for the signed-in user is the RP's word; otherwise the user confirms.
    if (confirmed || (logout.hintSub !== undefined && logout.hintSub === session.sub)) return finish();
    const idTokenHint = typeof params.id_token_hint === 'string' ? params.id_token_hint : undefined;
    return sendPage(
      reply,
      200,
      renderLogoutPage({
        action: deps.path,
        csrfToken: expected,
        ...(logout.client ? { clientName: logout.client.client_name ?? logout.client.client_id, clientId: logout.client.client_id } : {}),
        ...(logout.redirectUri ? { postLogoutRedirectUri: logout.redirectUri } : {}),
        ...(logout.state !== undefined ? { state: logout.state } : {}),
        ...(idTokenHint ? { idTokenHint } : {}),
      }),
      logout.redirectUri ? [logout.redirectUri] : [],
    );
  };
  app.get(deps.path, handler);
  app.post(deps.path, { schema: { body: { type: 'object' } } }, handler);
}
