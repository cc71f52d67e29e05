import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { andThen, type MaybePromise } from '../../lib/maybe-promise.js';
import type { TokenEndpointRequest, TokenEndpointResult } from '../../oauth/token-endpoint.js';
import { formBodySchema, requireFormBody, type FormParams } from '../form.js';
import { headerValues } from '../headers.js';
import { notePresentedClient } from '../../observability/request-facts.js';

function render(request: FastifyRequest, reply: FastifyReply, result: TokenEndpointResult): TokenEndpointResult['body'] {
  // RFC 6749 §5.1: token responses are never cached.
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  if (result.dpopNonce) reply.header('dpop-nonce', result.dpopNonce);
  request.tokenType = result.body.token_type;
  return result.body;
}

export function registerTokenRoute(
  app: FastifyInstance,
  deps: { path: string; handle: (request: TokenEndpointRequest) => MaybePromise<TokenEndpointResult> },
): void {
  app.post<{ Body: FormParams }>(
    deps.path,
    { schema: { body: formBodySchema() }, preValidation: requireFormBody },
    // Not async: an answer that is there at once is sent at once; a promise is awaited by Fastify
    // (src/lib/maybe-promise.ts). A refusal rejects and reaches the error handler either way.
    (request, reply) => {
      request.grantType = request.body.grant_type;
      notePresentedClient(request, request.body);
      const result = deps.handle({
        params: request.body,
        authorization: request.headers.authorization,
        dpopHeaders: headerValues(request, 'dpop'),
        address: request.ip,
      });
      return andThen(result, (answer) => render(request, reply, answer));
    },
  );
}
