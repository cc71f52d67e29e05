import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientCredentialsFrom, presentedClient, type ClientAuthMethod } from '../oauth/client-auth.js';
import type { OAuthError } from '../lib/oauth-error.js';
import type { FormParams } from '../http/form.js';

/**
 * What handlers learn about a request that its log line and metrics report when it completes
 * (request-log.ts): set on the request as the handler goes, read once in onResponse.
 */
declare module 'fastify' {
  interface FastifyRequest {
    /** The client_id the request named (authenticated when the answer is a success); logs only, never a metric label. */
    clientId: string | undefined;
    /** The client authentication method the request presented, unverified. */
    clientAuthMethod: ClientAuthMethod | undefined;
    /** grant_type at the token endpoint, as sent. */
    grantType: string | undefined;
    /** token_type issued (token endpoint) or presented (protected resource). */
    tokenType: string | undefined;
    /** The OAuth error the request was answered with. */
    oauthError: OAuthError | undefined;
    /** Why a request was refused without an OAuth error (a wrong password at the sign-in form). */
    refusalReason: string | undefined;
  }
}

export function decorateRequestFacts(app: FastifyInstance): void {
  // Declared up front, so every request object has the same shape.
  app.decorateRequest('clientId', undefined);
  app.decorateRequest('clientAuthMethod', undefined);
  app.decorateRequest('grantType', undefined);
  app.decorateRequest('tokenType', undefined);
  app.decorateRequest('oauthError', undefined);
  app.decorateRequest('refusalReason', undefined);
}

/** Notes the client a token, introspection or revocation request presents, before it is authenticated. */
export function notePresentedClient(request: FastifyRequest, params: FormParams): void {
  const presented = presentedClient(clientCredentialsFrom(params, request.headers.authorization));
  request.clientId = presented.clientId;
  request.clientAuthMethod = presented.method;
}
