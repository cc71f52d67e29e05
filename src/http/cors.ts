import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { ClientConfig } from '../config/schema.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** @fastify/cors reads a route's own options here, over the plugin's. */
    cors?: { origin: (origin: string | undefined, done: (error: Error | null, allow: boolean) => void) => void };
  }
}

/**
 * CORS for browser clients (SPAs on their own origins): only on the endpoints an SPA calls
 * (token, profile, revocation, JWKS, discovery), never on the authorization endpoint or the
 * provider's pages (RFC 9700 §2.6). Allowed origins are the origins of registered redirect
 * URIs, or a client's explicit allowed_cors_origins. DPoP-Nonce and WWW-Authenticate are
 * exposed so a client can read nonce challenges (RFC 9449 §7.1, §8).
 */
export function allowedOrigins(clients: readonly ClientConfig[]): Set<string> {
  const origins = new Set<string>();
  for (const client of clients) {
    const sources = client.allowed_cors_origins ?? client.redirect_uris;
    for (const uri of sources) {
      const url = new URL(uri);
      if (url.protocol === 'https:' || url.protocol === 'http:') origins.add(url.origin);
    }
  }
  return origins;
}

/**
 * @fastify/cors with options fixed at start-up, switched on per route: its global origin is
 * `false`, so the 404 handler and every other route pass through its hook at once, and the CORS
 * routes carry an `origin` check in their config. Options built per request (a delegator) cost
 * about 15 µs on every request, CORS or not (docs/performance.md). Preflights get a route of
 * their own on each CORS path, the plugin's `OPTIONS *` staying CORS-less (a 404).
 * Call before the routes are registered.
 */
export async function registerCors(
  app: FastifyInstance,
  options: { paths: readonly string[]; origins: ReadonlySet<string> },
): Promise<void> {
  const paths = new Set(options.paths);
  const routeCors = {
    origin: (origin: string | undefined, done: (error: Error | null, allow: boolean) => void) =>
      done(null, origin !== undefined && options.origins.has(origin)),
  };
  app.addHook('onRoute', (route) => {
    if (paths.has(route.url)) route.config = { ...route.config, cors: routeCors };
  });
  await app.register(cors, {
    hook: 'onRequest',
    origin: false,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'DPoP', 'Content-Type'],
    exposedHeaders: ['DPoP-Nonce', 'WWW-Authenticate'],
    maxAge: 600,
    credentials: false,
  });
  // The plugin's hook answers an allowed preflight before the handler; anything else is not found
  // (a 405 with Allow from the not-found handler, which does not count these routes).
  for (const path of paths) {
    app.options(path, { config: { corsPreflight: true } }, (_request, reply) => reply.callNotFound());
  }
}
