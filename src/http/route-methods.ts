import type { FastifyInstance } from 'fastify';

/** What the router knows of a path that has routes, for a 405 when the method is not one of them. */
export interface PathRoutes {
  /** The methods the path answers, in the order of an `Allow` header (RFC 9110 §10.2.1). */
  methods: readonly string[];
  /** Every route of the path is a browser form (`htmlErrors`): refusals there are pages too. */
  html: boolean;
}

/**
 * The methods of each static path, recorded as routes are registered. Fastify answers an
 * unknown method on a known path with its not-found handler; this lets that handler tell a
 * 405 (RFC 9110 §15.5.6, with `Allow`) from a 404. Wildcard and parametric routes (the CORS
 * plugin's `OPTIONS *`) and the preflight routes are not recorded: they do not make a path known.
 */
export class RouteMethods {
  private readonly paths = new Map<string, { methods: Set<string>; html: boolean }>();

  /** Records every route registered on `app` from now on, HEAD included where Fastify adds it. */
  listen(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      // The CORS-only routes (src/http/cors.ts) answer preflights and refusals: not methods of the resource.
      if (/[*:]/.test(route.url) || route.config?.corsOnly === true) return;
      const entry = this.paths.get(route.url) ?? { methods: new Set<string>(), html: true };
      for (const method of Array.isArray(route.method) ? route.method : [route.method]) entry.methods.add(method);
      entry.html &&= route.config?.htmlErrors === true;
      this.paths.set(route.url, entry);
    });
  }

  /** The routes at `path` (without its query), or undefined when no route has that path. */
  find(path: string): PathRoutes | undefined {
    const entry = this.paths.get(path);
    return entry && { methods: [...entry.methods].sort(), html: entry.html };
  }
}
