import type { FastifyInstance } from 'fastify';

/**
 * Prometheus metrics on the main port (when `metrics.port` is not set). Not a CORS path
 * (src/http/cors.ts answers only its listed paths), never cached. Scrapes are logged at warn
 * only, like health probes, so that they do not fill the log.
 */
export function registerMetricsRoute(
  app: FastifyInstance,
  deps: { path: string; render: () => Promise<string>; contentType: string },
): void {
  app.get(deps.path, { logLevel: 'warn' }, async (_request, reply) => {
    reply.header('cache-control', 'no-store').type(deps.contentType);
    return deps.render();
  });
}
