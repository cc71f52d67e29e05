import type { FastifyInstance } from 'fastify';
import type { TokenEndpointRequest, TokenEndpointResult } from '../../oauth/token-endpoint.js';
import { formBodySchema, requireFormBody, type FormParams } from '../form.js';
import { headerValues } from '../headers.js';
import { notePresentedClient } from '../../observability/request-facts.js';

export function registerTokenRoute(
  app: FastifyInstance,
  deps: { path: string; handle: (request: TokenEndpointRequest) => Promise<TokenEndpointResult> },
): void {
  app.post<{ Body: FormParams }>(
    deps.path,
    { schema: { body: formBodySchema() }, preValidation: requireFormBody },
    async (request, reply) => {
      request.grantType = request.body.grant_type;
      notePresentedClient(request, request.body);
      const result = await deps.handle({
        params: request.body,
        authorization: request.headers.authorization,
        dpopHeaders: headerValues(request, 'dpop'),
        address: request.ip,
      });
      // RFC 6749 §5.1: token responses are never cached.
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      if (result.dpopNonce) reply.header('dpop-nonce', result.dpopNonce);
      request.tokenType = result.body.token_type;
      return result.body;
    },
  );
}
