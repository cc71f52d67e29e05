import type { RefusalReason } from '../lib/refusal-reason.js';
import type { FastifyError } from 'fastify';
import { boundForDescription } from '../lib/bounded.js';
import { OAuthError } from '../lib/oauth-error.js';
import { HttpRefusal } from './http-refusal.js';

/**
 * Requests Fastify refuses before a route runs (a body that does not parse, is too large or
 * of an unknown type, a parameter that fails its schema, no route) are answered as OAuth
 * errors (RFC 6749 §5.2: invalid_request) with the status that says what went wrong, a short
 * description of our own and a `reason` for the log. Nothing the client sent is echoed but a
 * bounded parameter name or path.
 */

const byFastifyCode: Readonly<Record<string, { status: number; description: string; reason: RefusalReason }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, description: 'the request body is too large', reason: 'body_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, description: 'the content type of the body is not supported', reason: 'content_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, description: 'the body does not match its Content-Length', reason: 'content_length' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, description: 'the body is not valid JSON', reason: 'malformed_body' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, description: 'the JSON body is empty', reason: 'malformed_body' },
};

/** The OAuth error for a refusal of Fastify's, or undefined when `error` is not a client error. */
export function frameworkRefusal(error: FastifyError): OAuthError | undefined {
  if (error.validation) {
    // A repeated form parameter arrives as an array and fails its string schema (RFC 6749 §3.1, §3.2).
    return new OAuthError('invalid_request', `invalid request parameter: ${validationSummary(error)}`, { reason: 'schema' });
  }
  const status = error.statusCode;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  const known = error.code === undefined ? undefined : byFastifyCode[error.code];
  if (known) return new HttpRefusal(known.status, 'invalid_request', known.description, { reason: known.reason });
  // Another client error from a parser or a plugin: its message, bounded, since it may quote the body.
  return new HttpRefusal(status, 'invalid_request', boundForDescription(error.message), {
    reason: 'request',
    logDetail: { code: error.code },
  });
}

/** Fastify's wording (`body/scope must be string`), with the client-chosen parameter name bounded. */
function validationSummary(error: FastifyError): string {
  const first = error.validation?.[0];
  const context = error.validationContext ?? 'request';
  if (!first) return context;
  const name = first.instancePath === '' ? '' : `/${boundForDescription(first.instancePath.slice(1))}`;
  return `${context}${name} ${boundForDescription(first.message ?? 'is invalid')}`;
}

/** No route has this path (RFC 9110 §15.5.5). */
export function notFound(path: string): OAuthError {
  return new HttpRefusal(404, 'invalid_request', `no endpoint at ${boundForDescription(path)}`, { reason: 'not_found' });
}

/** The path has routes, none for this method (RFC 9110 §15.5.6); the caller sends `Allow`. */
export function methodNotAllowed(method: string, allowed: readonly string[]): OAuthError {
  return new HttpRefusal(405, 'invalid_request', `method ${boundForDescription(method)} is not allowed here; use ${allowed.join(' or ')}`, {
    reason: 'method',
  });
}
