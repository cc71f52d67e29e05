import type { FastifyReply } from 'fastify';
import { pageSecurityHeaders } from './html.js';

/** Sends one of the provider's HTML pages with the headers every page carries. */
export function sendPage(reply: FastifyReply, status: number, html: string, formTargets: readonly string[] = []): FastifyReply {
  return reply.code(status).headers(pageSecurityHeaders(formTargets)).type('text/html; charset=utf-8').send(html);
}
