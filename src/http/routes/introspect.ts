import type { FastifyInstance } from 'fastify';
import type { IntrospectionResponse } from '../../oauth/introspection.js';
import { formBodySchema, requireFormBody, type FormParams } from '../form.js';
import { notePresentedClient } from '../../observability/request-facts.js';

export function registerIntrospectionRoute(
  app: FastifyInstance,
  deps: {
    path: string;
    introspect: (request: { params: FormParams; authorization: string | undefined; address: string }) => Promise<IntrospectionResponse>;
  },
): void {
  app.post<{ Body: FormParams }>(
    deps.path,
    { schema: { body: formBodySchema() }, preValidation: requireFormBody },
    async (request, reply) => {
      notePresentedClient(request, request.body);
      const response = await deps.introspect({
        params: request.body,
        authorization: request.headers.authorization,
        address: request.ip,
      });
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return response;
    },
  );
}
