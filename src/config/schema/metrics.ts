import { z } from 'zod';

/**
 * Prometheus metrics (docs/metrics.md). On the main port at /metrics unless `port` is set: then
 * /metrics is served only by a listener of its own on host:port, for an address that only the
 * scraper reaches.
 */
export const metricsSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve /metrics and count; false turns metrics off.'),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe('A port of its own for /metrics; without it, /metrics is on the main port.'),
    host: z.string().default('127.0.0.1').describe('Address of the metrics listener; loopback unless told otherwise.'),
  })
  .prefault({})
  .describe('Prometheus metrics at /metrics, on the main port or a listener of its own.');
