import type { FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../lib/oauth-error.js';

/**
 * JSON schema of a form body: every parameter a string. A repeated parameter arrives as an
 * array and fails validation, which the error handler answers with invalid_request
 * (RFC 6749 §3.1: parameters must not be included more than once).
 */
export function formBodySchema(required: readonly string[] = []) {
  return {
    type: 'object',
    required,
    additionalProperties: { type: 'string' },
  } as const;
}

export type FormParams = Record<string, string | undefined>;

/**
 * OAuth endpoints take application/x-www-form-urlencoded bodies only (RFC 6749 §3.2, RFC 7662 §2.1).
 * A callback hook: an async one would cost a promise and a turn of the queue on every request.
 */
export function requireFormBody(request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void {
  const type = request.headers['content-type'];
  if (!type || type.split(';')[0]!.trim().toLowerCase() !== 'application/x-www-form-urlencoded') {
    done(new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded', { reason: 'content_type' }));
    return;
  }
  done();
}
