import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LogoutOutcome } from '../../oauth/logout.js';
import { cookieOptions, sessionCookie } from '../cookies.js';
import { renderLoggedOutPage, renderLogoutPage } from '../pages/logout-page.js';
import { sendPage } from '../pages/send-page.js';

/** The end_session_endpoint (OIDC RP-Initiated Logout 1.0), GET and POST. */
export function registerLogoutRoute(
  app: FastifyInstance,
  deps: {
    path: string;
    issuer: string;
    logout: (input: {
      params: Readonly<Record<string, unknown>>;
      method: 'GET' | 'POST';
      sessionCookie: string | undefined;
    }) => Promise<LogoutOutcome>;
  },
): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = ((request.method === 'GET' ? request.query : request.body) ?? {}) as Record<string, unknown>;
    const outcome = await deps.logout({
      params,
      method: request.method === 'POST' ? 'POST' : 'GET',
      sessionCookie: request.cookies[sessionCookie],
    });
    // Rendered at the edge like every refusal: a page, since logout is a browser route (htmlErrors).
    if (outcome.kind === 'refused') throw outcome.error;
    if (outcome.kind === 'signed_out') {
      if (outcome.clearSessionCookie) reply.clearCookie(sessionCookie, cookieOptions(deps.issuer));
      if (outcome.redirectTo) return reply.header('cache-control', 'no-store').redirect(outcome.redirectTo, 303);
      return sendPage(reply, 200, renderLoggedOutPage());
    }
    const { confirmation } = outcome;
    const { client } = confirmation;
    return sendPage(
      reply,
      200,
      renderLogoutPage({
        action: deps.path,
        csrfToken: confirmation.csrf,
        ...(client ? { clientName: client.client_name ?? client.client_id, clientId: client.client_id } : {}),
        ...(confirmation.redirectUri ? { postLogoutRedirectUri: confirmation.redirectUri } : {}),
        ...(confirmation.state !== undefined ? { state: confirmation.state } : {}),
        ...(confirmation.idTokenHint ? { idTokenHint: confirmation.idTokenHint } : {}),
      }),
      confirmation.redirectUri ? [confirmation.redirectUri] : [],
    );
  };
  // A browser route: refusals are answered with a page (src/http/error-handler.ts).
  const config = { htmlErrors: true };
  app.get(deps.path, { config }, handler);
  app.post(deps.path, { schema: { body: { type: 'object' } }, config }, handler);
}
