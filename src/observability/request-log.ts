import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { boundForLog, boundValueForLog } from '../lib/bounded.js';
import type { OAuthError } from '../lib/oauth-error.js';
import type { SecurityEvent } from './refusals.js';

/**
 * One JSON line per request when it completes: request id, method, route template, status,
 * time, and what the handlers noted (client, grant, token type, the refusal and its reason).
 * A refusal that is a security event is logged at warn with `event`; everything else at info.
 */

/** An id a proxy or client sent is kept when it is short and plain; anything else is replaced. */
const wellFormedRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's genReqId: the caller's X-Request-Id when well formed, else a new UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const sent = request.headers['x-request-id'];
  return typeof sent === 'string' && wellFormedRequestId.test(sent) ? sent : randomUUID();
}

/** The Fastify options of request logging: our line replaces its "incoming request"/"request completed" pair. */
export function requestLogOptions(): { logController: LogController; genReqId: (request: IncomingMessage) => string } {
  return { logController: new LogController({ disableRequestLogging: true }), genReqId: requestIdOf };
}

/**
 * The path is the client's choice (up to the 16 KB header limit): logged bounded, and only
 * when the route does not say it (none matched, or the CORS preflight's `OPTIONS *`).
 */
const maxLoggedPathLength = 128;
/** Logged values a client chose are cut to this length (an htu, an htm, a path). */
const maxLoggedDetailLength = 128;

/** The fields of the line; undefined ones are left out by pino. */
export interface RequestLine {
  method: string;
  route: string;
  path: string | undefined;
  status: number;
  /** Milliseconds, from the request's arrival to the response's end. */
  responseTime: number;
  remoteAddress: string;
  clientId: string | undefined;
  grantType: string | undefined;
  tokenType: string | undefined;
  oauthError: Record<string, unknown> | undefined;
  reason: string | undefined;
  event: SecurityEvent | undefined;
}

export function requestLine(
  request: FastifyRequest,
  route: string | undefined,
  status: number,
  elapsedMs: number,
  event: SecurityEvent | undefined,
): RequestLine {
  const { clientId, grantType, oauthError } = request;
  return {
    method: request.method,
    route: route ?? 'unmatched',
    path: route === undefined || route === '*' ? boundForLog(pathOf(request.url), maxLoggedPathLength) : undefined,
    status,
    responseTime: Math.round(elapsedMs * 1000) / 1000,
    // With trustProxy, the address comes from X-Forwarded-For, which the client may write.
    remoteAddress: boundForLog(request.ip),
    clientId: clientId === undefined ? undefined : boundForLog(clientId),
    grantType: grantType === undefined ? undefined : boundForLog(grantType),
    tokenType: request.tokenType,
    oauthError: oauthError && refusalFields(oauthError),
    reason: request.refusalReason,
    event,
  };
}

/** The error and reason, with the detail kept for the log (expected vs received htu), bounded. */
function refusalFields(error: OAuthError): Record<string, unknown> {
  const detail = error.logDetail ? (boundValueForLog(error.logDetail, maxLoggedDetailLength) as Record<string, unknown>) : {};
  return { ...detail, error: error.code, reason: error.reason };
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** Echoes the request id in every answer, so a client can quote it and an operator find the line. */
export function echoRequestId(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  reply.header('x-request-id', request.id);
  done();
}
