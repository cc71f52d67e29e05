import formBody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config/schema.js';
import { normalizeHtu } from './dpop/htu.js';
import { loadNonceSecret } from './dpop/nonce-secret.js';
import { DpopNonces } from './dpop/nonce.js';
import { DpopProofVerifier } from './dpop/verify-proof.js';
import { registerErrorHandler } from './http/error-handler.js';
import { registerDiscoveryRoutes } from './http/routes/discovery.js';
import { registerHealthRoute } from './http/routes/health.js';
import { registerIntrospectionRoute } from './http/routes/introspect.js';
import { registerJwksRoute } from './http/routes/jwks.js';
import { registerProfileRoute } from './http/routes/profile.js';
import { registerTokenRoute } from './http/routes/token.js';
import { loggerOptions } from './logger.js';
import { StaticClientRegistry } from './oauth/clients.js';
import { clientCredentialsGrant } from './oauth/grants/client-credentials.js';
import { introspectToken } from './oauth/introspection.js';
import { authorizeResourceRequest } from './oauth/protected-resource.js';
import { handleTokenRequest } from './oauth/token-endpoint.js';
import { MemoryReplayCache } from './stores/memory/replay-cache.js';
import { MemoryRevokedTokens } from './stores/memory/revoked-tokens.js';
import { systemClock, type Clock } from './stores/ports.js';
import { issueAccessToken, verifyAccessToken, type AccessTokenGrant } from './tokens/access-token.js';
import { loadSigningKeys, type SigningKeys } from './tokens/keys.js';

export interface AppOptions {
  config: Config;
  clock?: Clock;
  /** Signing keys; loaded from config (jwksFile or dataDir) when absent. */
  signingKeys?: SigningKeys;
  /** Nonce MAC secret; from config or dataDir when absent. */
  nonceSecret?: Buffer;
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: NodeJS.WritableStream;
}

/** The endpoint URLs, all derived from the configured issuer (never from request headers). */
export function endpointUrls(issuer: string) {
  return {
    token: `${issuer}/token`,
    profile: `${issuer}/profile`,
    introspection: `${issuer}/introspect`,
    jwks: `${issuer}/jwks`,
  };
}

/** The composition root: builds adapters and protocol services from config and registers the routes. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const keys =
    options.signingKeys ??
    (await loadSigningKeys({ jwksFile: config.keys.jwksFile, dataDir: config.dataDir, algorithm: config.keys.algorithm }));
  const nonceSecret = options.nonceSecret ?? loadNonceSecret({ nonceSecret: config.dpop.nonceSecret, dataDir: config.dataDir });

  const issuer = config.issuer;
  const issuerPath = new URL(issuer).pathname.replace(/\/$/, '');
  const urls = endpointUrls(issuer);
  const pathOf = (url: string) => new URL(url).pathname;

  const clients = new StaticClientRegistry(config.clients);
  const replayCache = new MemoryReplayCache(config.dpop.replayCacheMaxEntries, clock);
  const revoked = new MemoryRevokedTokens(1_000_000, clock);
  const nonces = new DpopNonces(nonceSecret, config.dpop.nonceStepSeconds, clock);
  const verifier = new DpopProofVerifier(
    {
      algorithms: config.dpop.algs,
      maxAgeSeconds: config.dpop.maxAgeSeconds,
      maxFutureSeconds: config.dpop.maxFutureSeconds,
      jtiMaxLength: config.dpop.jtiMaxLength,
      keyCacheMaxEntries: config.dpop.keyCacheMaxEntries,
    },
    { replayCache, nonces, clock },
  );
  const accessTokenSettings = {
    issuer,
    audience: config.accessToken.audience ?? issuer,
    ttlSeconds: config.accessToken.ttlSeconds,
  };
  const issue = (grant: AccessTokenGrant) => issueAccessToken(grant, { keys, settings: accessTokenSettings, clock });
  const verifyToken = (token: string) => verifyAccessToken(token, { keys, issuer, clock, revoked });

  const app = Fastify({
    logger: { ...loggerOptions(config.logLevel), ...(options.logStream ? { stream: options.logStream } : {}) },
    bodyLimit: config.http.bodyLimit,
    // The issuer is configured; X-Forwarded-* never shapes a URL here.
    trustProxy: false,
    return503OnClosing: true,
  });
  await app.register(formBody);
  registerErrorHandler(app, { realm: issuer, dpopAlgorithms: config.dpop.algs });

  const scopesSupported = [...new Set(config.clients.flatMap((client) => client.scope.split(' ').filter(Boolean)))];
  const authMethods = ['client_secret_basic', 'client_secret_post'];
  registerHealthRoute(app);
  registerDiscoveryRoutes(app, {
    issuerPath,
    metadata: {
      issuer,
      token_endpoint: urls.token,
      userinfo_endpoint: urls.profile,
      introspection_endpoint: urls.introspection,
      jwks_uri: urls.jwks,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: authMethods,
      introspection_endpoint_auth_methods_supported: authMethods,
      dpop_signing_alg_values_supported: config.dpop.algs,
      scopes_supported: scopesSupported,
      claims_supported: ['sub'],
      subject_types_supported: ['public'],
    },
  });
  registerJwksRoute(app, { path: pathOf(urls.jwks), jwks: keys.publicJwks });

  const tokenDeps = {
    clients,
    verifier,
    nonces,
    grants: { client_credentials: clientCredentialsGrant({ issueAccessToken: issue }) },
    tokenUrl: normalizeHtu(urls.token)!,
    requireNonce: config.dpop.requireNonce,
  };
  registerTokenRoute(app, { path: pathOf(urls.token), handle: (request) => handleTokenRequest(request, tokenDeps) });

  const resourceDeps = {
    verifier,
    nonces,
    clients,
    verifyAccessToken: verifyToken,
    resourceUrl: normalizeHtu(urls.profile)!,
    requireNonce: config.dpop.requireNonce,
  };
  registerProfileRoute(app, {
    path: pathOf(urls.profile),
    authorize: (request) => authorizeResourceRequest(request, resourceDeps),
    claimsFor: async (token) => ({ sub: token.sub }),
  });
  registerIntrospectionRoute(app, {
    path: pathOf(urls.introspection),
    introspect: (request) => introspectToken(request, { clients, verifyAccessToken: verifyToken }),
  });
  return app;
}
