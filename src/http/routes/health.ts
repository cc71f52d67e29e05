import type { FastifyInstance } from 'fastify';

/**
 * /healthz: the process is alive (for restarts). /readyz: it can serve, i.e. its store answers
 * (for load balancers); 503 while Redis is unreachable.
 */
export function registerHealthRoute(app: FastifyInstance, deps: { ping: () => Promise<void> }): void {
  app.get('/healthz', { logLevel: 'warn' }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });
  app.get('/readyz', { logLevel: 'warn' }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    try {
      await deps.ping();
      return { status: 'ready' };
    } catch (error) {
      request.log.warn({ store: (error as Error).message }, 'not ready');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
}
