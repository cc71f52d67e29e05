import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError, type OAuthErrorCode } from '../lib/oauth-error.js';
import { StoreUnavailableError } from '../stores/ports.js';
import { frameworkRefusal, methodNotAllowed, notFound } from './framework-refusals.js';
import { HttpRefusal } from './http-refusal.js';
import { renderErrorPage } from './pages/error-page.js';
import { pageSecurityHeaders } from './pages/html.js';
import { RouteMethods } from './route-methods.js';

/**
 * The HTTP edge of errors: one place derives status and headers from an OAuthError's code.
 * The same invalid_dpop_proof is a 400 JSON error at the token endpoint and a 401 with a
 * `WWW-Authenticate: DPoP` challenge at a protected resource (RFC 9449 §7.1). Fastify's own
 * refusals (bad bodies, unknown routes and methods, too large bodies, unknown content types)
 * are OAuth errors too. Anything else becomes a logged 500 with no detail.
 */

const statusByCode: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_token: 401,
  insufficient_scope: 403,
  server_error: 500,
  temporarily_unavailable: 503,
};

/** Protected resources answer these with 401 and a challenge (RFC 6750 §3.1, RFC 9449 §7.1, §9). */
const resourceStatusByCode: Partial<Record<OAuthErrorCode, number>> = {
  invalid_dpop_proof: 401,
  use_dpop_nonce: 401,
};

export interface ErrorHandlerSettings {
  /** Realm of Bearer challenges. */
  realm: string;
  /** Proof algorithms offered in `algs` of DPoP challenges (RFC 9449 §7.1). */
  dpopAlgorithms: readonly string[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Errors on this route are answered with WWW-Authenticate challenges (RFC 6750, RFC 9449 §7). */
    protectedResource?: boolean;
    /** A route a person's browser posts to: errors are answered with an HTML page. */
    htmlErrors?: boolean;
    /**
     * A route that exists only for CORS (src/http/cors.ts): a CORS path's preflight, or a method
     * the path does not have, refused with 405 through CORS. Not a method of the resource.
     */
    corsOnly?: boolean;
  }
}

function quoted(value: string): string {
  // RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
  return `"${value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '')}"`;
}

function challenges(error: OAuthError, settings: ErrorHandlerSettings): string[] {
  const algs = `algs=${quoted(settings.dpopAlgorithms.join(' '))}`;
  const bearer = `Bearer realm=${quoted(settings.realm)}`;
  // No usable credentials: offer both schemes, without error information (RFC 6750 §3.1).
  if (error.challenge === 'none') return [`DPoP ${algs}`, bearer];
  const params = `error=${quoted(error.code)}, error_description=${quoted(error.message)}`;
  if (error.challenge === 'Bearer') return [`${bearer}, ${params}`];
  return [`DPoP ${params}, ${algs}`];
}

/**
 * The status, from the error alone: an HTTP-level refusal says its own; a limit that was hit
 * (temporarily_unavailable with a Retry-After) is 429 (RFC 6585 §4), a backend away 503;
 * protected resources answer proof errors 401 (RFC 9449 §7.1); the rest by RFC 6749 §5.2.
 */
function statusOf(error: OAuthError, protectedResource: boolean): number {
  if (error instanceof HttpRefusal) return error.httpStatus;
  if (error.code === 'temporarily_unavailable' && error.retryAfterSeconds !== undefined) return 429;
  return (protectedResource ? resourceStatusByCode[error.code] : undefined) ?? statusByCode[error.code] ?? 400;
}

export function sendOAuthError(
  reply: FastifyReply,
  error: OAuthError,
  settings: ErrorHandlerSettings,
  /** A page rather than JSON; by default, when the route is a browser form (`htmlErrors`). */
  html = reply.request.routeOptions.config?.htmlErrors === true,
): FastifyReply {
  const protectedResource = reply.request.routeOptions.config?.protectedResource === true;
  const status = statusOf(error, protectedResource);
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  if (html) {
    return reply
      .code(status)
      .headers(pageSecurityHeaders())
      .type('text/html; charset=utf-8')
      .send(renderErrorPage({ title: 'Request refused', error: error.code, description: error.message }));
  }
  reply.code(status).header('cache-control', 'no-store').header('pragma', 'no-cache').header('x-content-type-options', 'nosniff');
  if (error.dpopNonce) reply.header('dpop-nonce', error.dpopNonce);
  if (protectedResource && status < 500) {
    const values = challenges(error, settings);
    reply.header('www-authenticate', values.length === 1 ? values[0] : values);
  } else if (status === 401 && /^basic /i.test(reply.request.headers.authorization ?? '')) {
    // RFC 6749 §5.2: a client that authenticated with Basic is challenged with Basic.
    reply.header('www-authenticate', `Basic realm=${quoted(settings.realm)}`);
  }
  // No credentials at all: no error code (RFC 6750 §3.1), only a word on what was expected.
  const body: Record<string, string> =
    error.challenge === 'none' ? { error_description: error.message } : { error: error.code, error_description: error.message };
  return reply.send(body);
}

/** The refusal goes into the request's one log line and its metrics (src/observability/), not a line of its own. */
function noteRefusal(request: FastifyRequest, error: OAuthError): void {
  request.oauthError = error;
}

/**
 * RFC 9112 §9.6: a server that will close the connection says so. A refusal sent before the
 * request's body has arrived (no parser for its type, a limit hit in onRequest) closes rather
 * than read and discard a body of any size; Fastify already does this when its body parser
 * fails. A request without a body has nothing left to read, even before `complete` is set.
 */
function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply): void {
  const { headers } = request;
  const hasBody =
    (headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined;
  if (hasBody && request.raw.complete === false) reply.header('connection', 'close');
}

/** Notes and sends a refusal of Fastify's (a bad body, no route, no such method), the OAuth way. */
function refuse(
  request: FastifyRequest,
  reply: FastifyReply,
  error: OAuthError,
  settings: ErrorHandlerSettings,
  html?: boolean,
): FastifyReply {
  noteRefusal(request, error);
  return sendOAuthError(reply, error, settings, html);
}

export function registerErrorHandler(app: FastifyInstance, settings: ErrorHandlerSettings): void {
  const routes = new RouteMethods();
  routes.listen(app);
  // Every response, whatever answers it: a JSON error or token response is never sniffed as HTML.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('x-content-type-options', 'nosniff');
    done();
  });

  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    closeIfBodyUnread(request, reply);
    if (error instanceof OAuthError) {
      noteRefusal(request, error);
      return sendOAuthError(reply, error, settings);
    }
    if (error instanceof StoreUnavailableError) {
      request.log.error({ store: error.message }, 'store unavailable: failing closed');
      const unavailable = new OAuthError('temporarily_unavailable', 'try again later', { reason: 'store_unavailable' });
      noteRefusal(request, unavailable);
      return sendOAuthError(reply, unavailable, settings);
    }
    const refusal = frameworkRefusal(error as FastifyError);
    if (refusal) return refuse(request, reply, refusal, settings);
    request.log.error({ err: error }, 'unhandled error');
    if (reply.request.routeOptions.config?.htmlErrors === true) {
      return sendOAuthError(reply, new OAuthError('server_error', 'something went wrong; try again later'), settings);
    }
    return reply.code(500).header('cache-control', 'no-store').send({ error: 'server_error' });
  });

  app.setNotFoundHandler((request, reply) => {
    closeIfBodyUnread(request, reply);
    const path = request.url.split('?', 1)[0]!;
    const known = routes.find(path);
    if (!known) return refuse(request, reply, notFound(path), settings);
    // RFC 9110 §15.5.6: a 405 lists the methods the resource has.
    reply.header('allow', known.methods.join(', '));
    return refuse(request, reply, methodNotAllowed(request.method, known.methods), settings, known.html);
  });
}
