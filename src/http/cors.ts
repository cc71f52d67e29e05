import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { ClientConfig } from '../config/schema.js';

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

export async function registerCors(
  app: FastifyInstance,
  options: { paths: readonly string[]; origins: ReadonlySet<string> },
): Promise<void> {
  const paths = new Set(options.paths);
  await app.register(cors, {
    hook: 'onRequest',
    delegator: (request, callback) => {
      const path = (request.url ?? '').split('?')[0] ?? '';
      if (!paths.has(path)) return callback(null, { origin: false });
      callback(null, {
        origin: (origin, done) => done(null, origin !== undefined && options.origins.has(origin)),
        methods: ['GET', 'POST'],
        allowedHeaders: ['Authorization', 'DPoP', 'Content-Type'],
        exposedHeaders: ['DPoP-Nonce', 'WWW-Authenticate'],
        maxAge: 600,
        credentials: false,
      });
    },
  });
}
