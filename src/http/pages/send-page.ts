import type { FastifyReply } from 'fastify';
import type { OAuthError } from '../../lib/oauth-error.js';
import { renderErrorPage } from './error-page.js';
import { pageSecurityHeaders } from './html.js';

/** Sends one of the provider's HTML pages with the headers every page carries. */
export function sendPage(reply: FastifyReply, status: number, html: string, formTargets: readonly string[] = []): FastifyReply {
  return reply.code(status).headers(pageSecurityHeaders(formTargets)).type('text/html; charset=utf-8').send(html);
}

export function sendErrorPage(reply: FastifyReply, status: number, error: OAuthError): FastifyReply {
  // Logged in the request's line (src/observability/request-log.ts).
  reply.request.oauthError = error;
  return sendPage(reply, status, renderErrorPage({ title: 'Sign-in request refused', error: error.code, description: error.message }));
}
