import type { FastifyInstance } from 'fastify';

/**
 * OpenID Connect Discovery 1.0 and RFC 8414 metadata, serialised once per value of
 * `metadata()` (it changes only when the signing keys are reloaded). RFC 8414 §3 inserts the
 * well-known segment before the issuer's path: /.well-known/oauth-authorization-server/oidc.
 */
export function registerDiscoveryRoutes(app: FastifyInstance, deps: { issuerPath: string; metadata: () => Record<string, unknown> }): void {
  let cached: { metadata: Record<string, unknown>; body: string } | undefined;
  const body = (): string => {
    const metadata = deps.metadata();
    if (cached?.metadata !== metadata) cached = { metadata, body: JSON.stringify(metadata) };
    return cached.body;
  };
  const send = async (_request: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'public, max-age=300').send(body());
  app.get(`${deps.issuerPath}/.well-known/openid-configuration`, send);
  app.get(`/.well-known/oauth-authorization-server${deps.issuerPath}`, send);
}
