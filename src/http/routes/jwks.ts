import type { FastifyInstance } from 'fastify';
import type { JWK } from 'jose';

/** The public signing keys (kid, alg, use), for resource servers verifying RFC 9068 tokens. */
export function registerJwksRoute(app: FastifyInstance, deps: { path: string; jwks: { keys: JWK[] } }): void {
  const body = JSON.stringify(deps.jwks);
  app.get(deps.path, async (_request, reply) =>
    reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'public, max-age=300').send(body),
  );
}
