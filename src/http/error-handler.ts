import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError, type OAuthErrorCode } from '../oauth/errors.js';
import { StoreUnavailableError } from '../stores/ports.js';
import { renderErrorPage } from './pages/error-page.js';
import { pageSecurityHeaders } from './pages/html.js';

/**
 * The HTTP edge of errors: one place derives status and headers from an OAuthError's code.
 * The same invalid_dpop_proof is a 400 JSON error at the token endpoint and a 401 with a
 * `WWW-Authenticate: DPoP` challenge at a protected resource (RFC 9449 §7.1). Anything that
 * is not an OAuthError or a request-shape error becomes a logged 500 with no detail.
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

export function sendOAuthError(reply: FastifyReply, error: OAuthError, settings: ErrorHandlerSettings): FastifyReply {
  const protectedResource = reply.request.routeOptions.config?.protectedResource === true;
  const status =
    error.status ?? (protectedResource ? resourceStatusByCode[error.code] : undefined) ?? statusByCode[error.code] ?? 400;
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  if (reply.request.routeOptions.config?.htmlErrors === true) {
    return reply
      .code(status)
      .headers(pageSecurityHeaders())
      .type('text/html; charset=utf-8')
      .send(renderErrorPage({ title: 'Request refused', error: error.code, description: error.message }));
  }
  reply.code(status).header('cache-control', 'no-store').header('pragma', 'no-cache');
  if (error.dpopNonce) reply.header('dpop-nonce', error.dpopNonce);
  if (protectedResource && status < 500) {
    const values = challenges(error, settings);
    reply.header('www-authenticate', values.length === 1 ? values[0] : values);
  } else if (status === 401 && error.basicChallenge) {
    reply.header('www-authenticate', `Basic realm=${quoted(settings.realm)}`);
  }
  const body: Record<string, string> = { error: error.code };
  if (error.challenge !== 'none') body.error_description = error.message;
  return reply.send(body);
}

function logOAuthError(request: FastifyRequest, error: OAuthError): void {
  request.log.info(
    { oauthError: { error: error.code, reason: error.reason, ...error.logDetail } },
    `${error.code}: ${error.message}`,
  );
}

export function registerErrorHandler(app: FastifyInstance, settings: ErrorHandlerSettings): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    if (error instanceof OAuthError) {
      logOAuthError(request, error);
      return sendOAuthError(reply, error, settings);
    }
    if (error instanceof StoreUnavailableError) {
      request.log.error({ store: error.message }, 'store unavailable: failing closed');
      return sendOAuthError(reply, new OAuthError('temporarily_unavailable', 'try again later'), settings);
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) {
      // A repeated form parameter arrives as an array and fails its string schema (RFC 6749 §3.1, §3.2).
      const invalid = new OAuthError('invalid_request', `invalid request parameter: ${fastifyError.message}`, { reason: 'schema' });
      logOAuthError(request, invalid);
      return sendOAuthError(reply, invalid, settings);
    }
    const status = fastifyError.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      // Malformed bodies, wrong content types, too large bodies: the client's fault, said plainly.
      const invalid = new OAuthError('invalid_request', fastifyError.message, { reason: fastifyError.code ?? 'request', status });
      logOAuthError(request, invalid);
      return sendOAuthError(reply, invalid, settings);
    }
    request.log.error({ err: error }, 'unhandled error');
    if (reply.request.routeOptions.config?.htmlErrors === true) {
      return sendOAuthError(reply, new OAuthError('server_error', 'something went wrong; try again later'), settings);
    }
    return reply.code(500).header('cache-control', 'no-store').send({ error: 'server_error' });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not_found', error_description: `no route for ${request.method} ${request.url.split('?')[0]}` });
  });
}
