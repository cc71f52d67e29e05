import { isIP } from 'node:net';
import { z } from 'zod';

const proxyAddressNames = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** One entry Fastify's trustProxy (proxy-addr) accepts: an address, address/prefix, IPv4 address/netmask, or a named range. */
function isProxyAddress(entry: string): boolean {
  if (proxyAddressNames.has(entry)) return true;
  const [address = '', range, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length) return false;
  if (range === undefined) return true;
  if (/^\d{1,3}$/.test(range)) return Number(range) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(range) === 4;
}

const trustProxy = z.union([
  z.boolean(),
  z
    .string()
    .refine(
      (value) => value.split(',').every((entry) => isProxyAddress(entry.trim())),
      'must be true, false, or comma-separated proxy addresses or CIDRs (e.g. 10.0.0.0/8, loopback)',
    ),
]);

/** Bound of the time the server waits for a client: at least 100 ms. */
const timeoutMs = () => z.number().int().min(100);

export const httpSchema = z
  .strictObject({
    port: z.number().int().min(0).max(65535).default(8080).describe('TCP port to listen on.'),
    host: z.string().default('0.0.0.0').describe('Address to listen on.'),
    bodyLimit: z
      .number()
      .int()
      .positive()
      .default(64 * 1024)
      .describe('Largest accepted request body, in bytes.'),
    trustProxy: trustProxy
      .default(false)
      .describe(
        'Proxies believed for the client address (true, or comma-separated addresses/CIDRs); only logs and rate limits use it, never URLs.',
      ),
    loginAttemptsPerMinute: z.number().int().min(1).default(10).describe('Sign-in attempts per client address per minute.'),
    authorizeRequestsPerMinute: z
      .number()
      .int()
      .min(1)
      .default(120)
      .describe('Authorization requests per client address per minute (each may start a pending sign-in).'),
    // 15 s leaves a slow mobile link time for a few KiB of headers; a slowloris gets 408 and a close.
    headersTimeoutMs: timeoutMs().default(15_000).describe("Time to receive a request's headers (408 and closed after it)."),
    // A 64 KiB body at 50 kbit/s takes about 10 s.
    requestTimeoutMs: timeoutMs().default(30_000).describe('Time to receive a whole request, headers and body (408 and closed after it).'),
    // Longer than a proxy's usual upstream idle time (nginx, load balancers: 60 s), so the proxy
    // closes first and never reuses a connection this server is closing.
    keepAliveTimeoutMs: timeoutMs().default(72_000).describe('How long an idle kept-alive connection stays open.'),
    // Counted by the socket's peer address, since that is what holds a descriptor; never by
    // X-Forwarded-For. Behind a proxy every connection comes from it: raise this above its
    // upstream pool (or set 0) and bound clients at the proxy.
    maxConnectionsPerAddress: z
      .number()
      .int()
      .min(0)
      .default(128)
      .describe('Open connections one peer address (an IPv6 /64) may hold, 0 for no bound; beyond it 429 and closed.'),
    maxConnections: z
      .number()
      .int()
      .min(1)
      .default(10_000)
      .describe('Open connections in all, kept below ulimit -n; beyond it a new connection is closed at once.'),
    // Below the orchestrator's grace period (Kubernetes: 30 s).
    shutdownDrainMs: z
      .number()
      .int()
      .min(0)
      .default(25_000)
      .describe('On SIGTERM/SIGINT, how long in-flight requests may take before the process exits with status 1.'),
  })
  // Node refuses a headers timeout longer than the whole-request timeout.
  .refine((http) => http.headersTimeoutMs <= http.requestTimeoutMs, {
    path: ['headersTimeoutMs'],
    message: 'must not exceed http.requestTimeoutMs',
  })
  .prefault({})
  .describe('The HTTP server: address, body and time bounds, connection bounds, shutdown.');
