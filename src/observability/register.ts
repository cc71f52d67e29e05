import type { Server } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { registerMetricsRoute } from '../http/routes/metrics.js';
import type { AppMetrics } from './metrics.js';
import { startMetricsServer, stopMetricsServer } from './metrics-server.js';
import { securityEventOf } from './refusals.js';
import { decorateRequestFacts } from './request-facts.js';
import { echoRequestId, requestLine } from './request-log.js';

/** Levels at which info lines are written: below them, the line is not even built. */
const infoLevels: ReadonlySet<string> = new Set(['info', 'debug', 'trace']);

export interface ObservabilitySettings {
  /** Undefined when metrics are off: nothing is counted. */
  metrics: AppMetrics | undefined;
  config: Config['metrics'];
  /** The sign-in form's route: a 429 there is a lockout. */
  loginRoute: string;
}

/**
 * Request ids, the request line and metrics, for every route registered after this call; and
 * /metrics, on the main port or on a listener of its own that starts and stops with the app.
 */
export function registerObservability(app: FastifyInstance, settings: ObservabilitySettings): void {
  const { metrics, loginRoute } = settings;
  decorateRequestFacts(app);
  app.addHook('onRequest', echoRequestId);
  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const route = request.routeOptions.url;
    const status = reply.statusCode;
    const elapsedMs = reply.elapsedTime;
    const event = securityEventOf(request.oauthError, status === 429 && route === loginRoute);
    metrics?.recordRequest(request, route, status, elapsedMs, event);
    if (event !== undefined) request.log.warn(requestLine(request, route, status, elapsedMs, event), 'request completed');
    else if (infoLevels.has(request.log.level))
      request.log.info(requestLine(request, route, status, elapsedMs, event), 'request completed');
    done();
  });

  if (!metrics) return;
  const render = () => metrics.render();
  const { port, host } = settings.config;
  if (port === undefined) {
    registerMetricsRoute(app, { path: '/metrics', render, contentType: metrics.contentType });
    return;
  }
  // onReady, not onListen: a port already in use must stop start-up, not be logged and ignored.
  let server: Server | undefined;
  app.addHook('onReady', async () => {
    server = await startMetricsServer({ host, port, render, contentType: metrics.contentType });
  });
  app.addHook('onClose', async () => {
    if (server) await stopMetricsServer(server);
  });
}
