import type { FastifyInstance } from 'fastify';
import type { JWK } from 'jose';

/**
 * The public signing keys (kid, alg, use), for resource servers verifying RFC 9068 tokens.
 * `jwks()` is read per request, so a reloaded key set is served at once; the body is
 * serialised once per set.
 */
export function registerJwksRoute(app: FastifyInstance, deps: { path: string; jwks: () => { keys: JWK[] } }): void {
  let cached: { jwks: { keys: JWK[] }; body: string } | undefined;
  const body = (): string => {
    const jwks = deps.jwks();
    if (cached?.jwks !== jwks) cached = { jwks, body: JSON.stringify(jwks) };
    return cached.body;
  };
  // max-age bounds how long a resource server may keep an old set: docs/operations.md waits
  // at least this long between publishing a key and making it active.
  app.get(deps.path, async (_request, reply) =>
    reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'public, max-age=300').send(body()),
  );
}
