import type { FastifyInstance } from 'fastify';
import { formBodySchema, requireFormBody, type FormParams } from '../form.js';
import { notePresentedClient } from '../../observability/request-facts.js';

/** RFC 7009: 200 with an empty body whether or not the token was known. */
export function registerRevocationRoute(
  app: FastifyInstance,
  deps: { path: string; revoke: (request: { params: FormParams; authorization: string | undefined; address: string }) => Promise<void> },
): void {
  app.post<{ Body: FormParams }>(
    deps.path,
    { schema: { body: formBodySchema() }, preValidation: requireFormBody },
    async (request, reply) => {
      notePresentedClient(request, request.body);
      await deps.revoke({
        params: request.body,
        authorization: request.headers.authorization,
        address: request.ip,
      });
      return reply.code(200).header('cache-control', 'no-store').send();
    },
  );
}
