import type { PinoLoggerOptions } from 'fastify/types/logger.js';
import { boundForLog } from './lib/bounded.js';

/**
 * The path is the client's choice (up to the 16 KB header limit): logged bounded, so that one
 * request cannot write a line of any size. Room for every path the provider serves.
 */
const maxLoggedPathLength = 128;

/**
 * pino options: JSON lines, and credentials redacted wherever they might still appear. Requests
 * are logged once, when they complete, by route template or bounded path, never by query (the
 * query of /authorize carries client input and /logout an ID token) nor headers
 * (src/observability/request-log.ts). A `req` logged anyway is cut to the same.
 */
/** Names under which a credential would be logged. */
const credentialNames = ['client_secret', 'client_assertion', 'password', 'access_token', 'refresh_token', 'id_token', 'code', 'token'];

/**
 * Where they are redacted: at the top of a line and in its `oauthError` (the refusal's detail).
 * Named paths, not `*.name` wildcards: each wildcard costs about 1.5 µs on every line written
 * (docs/performance.md), and the lines written have these shapes only.
 */
const credentialPaths = credentialNames.flatMap((name) => [name, `oauthError.${name}`]);

export function loggerOptions(level: string): PinoLoggerOptions {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.dpop', 'req.headers.cookie', 'res.headers["set-cookie"]', ...credentialPaths],
      censor: '[redacted]',
    },
    serializers: {
      req: (request: { method: string; url: string; ip?: string }) => ({
        method: request.method,
        path: boundForLog(pathOf(request.url), maxLoggedPathLength),
        // With trustProxy, the address comes from X-Forwarded-For, which the client may write.
        remoteAddress: request.ip === undefined ? undefined : boundForLog(request.ip),
      }),
    },
  };
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
