import type { PinoLoggerOptions } from 'fastify/types/logger.js';

/**
 * pino options: JSON lines, requests logged by method and path only (no query, no headers),
 * and credentials redacted wherever they might still appear.
 */
export function loggerOptions(level: string): PinoLoggerOptions {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.dpop',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
        '*.client_secret',
        '*.password',
        '*.access_token',
        '*.refresh_token',
        '*.id_token',
        '*.code',
        '*.token',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req: (request: { method: string; url: string; ip?: string }) => ({
        method: request.method,
        path: request.url.split('?')[0],
        remoteAddress: request.ip,
      }),
    },
  };
}
