import cors from '@fastify/cors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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

/** Methods a CORS path without them refuses with 405 through CORS (OPTIONS has its preflight route). */
const refusedMethods = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT'];

export interface CorsPaths {
  /**
   * Call after every route is registered: each CORS path gets a route for the methods it does not
   * have, which hands over to the not-found handler's 405 (with Allow) after the CORS hook ran, so
   * that a browser can read the refusal instead of a CORS failure.
   */
  refuseOtherMethods(): void;
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
): Promise<CorsPaths> {
  const paths = new Set(options.paths);
  const methodsOf = new Map<string, Set<string>>();
  const routeCors = {
    origin: (origin: string | undefined, done: (error: Error | null, allow: boolean) => void) =>
      done(null, origin !== undefined && options.origins.has(origin)),
  };
  app.addHook('onRoute', (route) => {
    if (!paths.has(route.url)) return;
    if (route.config?.corsOnly !== true) {
      const methods = methodsOf.get(route.url) ?? new Set<string>();
      for (const method of Array.isArray(route.method) ? route.method : [route.method]) methods.add(method);
      methodsOf.set(route.url, methods);
    }
    route.config = { ...route.config, cors: routeCors };
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
  const notFound = (_request: FastifyRequest, reply: FastifyReply) => reply.callNotFound();
  for (const path of paths) app.options(path, { config: { corsOnly: true } }, notFound);
  return {
    refuseOtherMethods: () => {
      for (const path of paths) {
        const methods = methodsOf.get(path);
        if (!methods) continue;
        const others = refusedMethods.filter((method) => !methods.has(method));
        if (others.length > 0)
          app.route({ method: others, url: path, exposeHeadRoute: false, config: { corsOnly: true }, handler: notFound });
      }
    },
  };
}
