import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import { OAuthError } from '../lib/oauth-error.js';
import { clientErrorHandler } from './client-error.js';
import { answerAndClose, rawOAuthErrorResponse } from './raw-response.js';

/**
 * The HTTP server's own bounds: how long each phase of a connection may take, how many
 * connections one client and all clients may hold, and how the server drains on close.
 * Fastify's defaults wait forever for a request body; a client that sends headers and never
 * the body would hold a descriptor until the process runs out of them.
 */

export type ServerLimits = Pick<
  Config['http'],
  'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs' | 'maxConnectionsPerAddress' | 'maxConnections'
>;

/** Options for the Fastify factory. */
export function serverLimitOptions(limits: ServerLimits) {
  return {
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Headers, body and keep-alive idle time are each bounded above; a socket inactivity timeout
    // on top would also cut a response still being computed, so there is none.
    connectionTimeout: 0,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks both timeouts on this period (30 s by default, which would let a 15 s bound last 45 s).
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(limits.headersTimeoutMs / 4))),
    },
    clientErrorHandler,
    // Requests during the drain are answered by registerDrain, with an OAuth body.
    return503OnClosing: false,
  };
}

/** Wires the connection bounds and the drain into a built app (before it listens). */
export function applyServerLimits(app: FastifyInstance, limits: ServerLimits): void {
  app.server.maxConnections = limits.maxConnections;
  const droppedLog = throttledWarning(app.log, 'connection limit reached: new connections are closed at once');
  app.server.on('drop', () => droppedLog.hit());
  if (limits.maxConnectionsPerAddress > 0) boundConnectionsPerAddress(app.server, limits.maxConnectionsPerAddress, app.log);
  registerDrain(app);
}

/**
 * The key connections are counted under: the socket's peer address (what holds the descriptor),
 * an IPv6 address by its /64, since one host is handed a whole /64 to pick addresses from.
 */
export function connectionKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = address.includes('::')
    ? [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups]
    : headGroups;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, '').toLowerCase())
    .join(':')}::/64`;
}

/**
 * Counts open connections per client and answers one beyond the bound with 429 and a close,
 * before the HTTP parser sees it. The HTTP server's own connection listener is called only for
 * the connections that are let in.
 */
function boundConnectionsPerAddress(server: Server, max: number, log: FastifyBaseLogger): void {
  const open = new Map<string, number>();
  const refusedLog = throttledWarning(log, 'connections refused: too many from one address');
  const httpListeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    if (!socket.remoteAddress) {
      socket.destroy();
      return;
    }
    const key = connectionKey(socket.remoteAddress);
    const count = open.get(key) ?? 0;
    if (count >= max) {
      refusedLog.hit({ address: key });
      answerAndClose(
        socket,
        rawOAuthErrorResponse(429, 'temporarily_unavailable', 'too many open connections from this address', { 'Retry-After': '1' }),
      );
      return;
    }
    open.set(key, count + 1);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
    for (const listener of httpListeners) listener.call(server, socket);
  });
}

/**
 * On close (SIGTERM): Fastify stops accepting and closes idle kept-alive connections; a request
 * that still arrives on an open connection is answered 503 `temporarily_unavailable`, and every
 * response from then on says `Connection: close` (RFC 9112 §9.6), so each connection ends after
 * its last response and the server can finish.
 */
function registerDrain(app: FastifyInstance): void {
  let draining = false;
  app.addHook('preClose', (done) => {
    draining = true;
    app.server.closeIdleConnections();
    done();
  });
  // Callback hooks: an async one costs a promise on every request, draining or not.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!draining) return done();
    reply.header('connection', 'close');
    done(new OAuthError('temporarily_unavailable', 'the server is shutting down; send the request again', { reason: 'shutting_down' }));
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });
}

/** A warning logged at most once per interval under a flood, with the count since the last one. */
function throttledWarning(log: FastifyBaseLogger, message: string, intervalMs = 10_000) {
  let last = 0;
  let suppressed = 0;
  return {
    hit(detail: Record<string, unknown> = {}): void {
      const now = Date.now();
      if (now - last < intervalMs) {
        suppressed++;
        return;
      }
      log.warn({ ...detail, suppressed }, message);
      last = now;
      suppressed = 0;
    },
  };
}
