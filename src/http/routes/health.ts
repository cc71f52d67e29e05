import type { FastifyInstance } from 'fastify';

/**
 * /healthz: the process is alive (for restarts). /readyz: it can serve, i.e. its store answers
 * and is set up to keep what it is given (for load balancers): 503 while Redis is unreachable
 * (`store_unavailable`) or may evict keys (`redis_evicting`, its maxmemory-policy changed).
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
      const reason = readinessReason(error);
      request.log.warn({ store: (error as Error).message, reason }, 'not ready');
      return reply.code(503).send({ status: 'unavailable', reason });
    }
  });
}

/** A store error may name why it is not ready (`reason`); anything else is an unreachable store. */
function readinessReason(error: unknown): string {
  const reason = (error as { reason?: unknown }).reason;
  return typeof reason === 'string' ? reason : 'store_unavailable';
}
