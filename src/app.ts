import cookie from '@fastify/cookie';
import formBody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config/schema.js';
import { normalizeHtu } from './dpop/htu.js';
import { loadNonceSecrets } from './dpop/nonce-secret.js';
import { DpopNonces } from './dpop/nonce.js';
import { DpopProofVerifier } from './dpop/verify-proof.js';
import { allowedOrigins, registerCors } from './http/cors.js';
import { registerErrorHandler } from './http/error-handler.js';
import { counterRateLimitStore } from './http/rate-limit-store.js';
import { applyServerLimits, serverLimitOptions } from './http/server-limits.js';
import { registerAuthorizeRoutes } from './http/routes/authorize.js';
import { registerLogoutRoute } from './http/routes/logout.js';
import { registerRevocationRoute } from './http/routes/revoke.js';
import { registerDiscoveryRoutes } from './http/routes/discovery.js';
import { registerHealthRoute } from './http/routes/health.js';
import { registerIntrospectionRoute } from './http/routes/introspect.js';
import { registerJwksRoute } from './http/routes/jwks.js';
import { registerProfileRoute } from './http/routes/profile.js';
import { registerTokenRoute } from './http/routes/token.js';
import { loggerOptions } from './logger.js';
import { instrumentStores } from './observability/instrument-stores.js';
import { AppMetrics } from './observability/metrics.js';
import { registerObservability } from './observability/register.js';
import { requestLogOptions } from './observability/request-log.js';
import { StaticClientRegistry } from './oauth/clients.js';
import { endpointUrls, providerMetadata } from './oauth/metadata.js';
import { addressBlock, ClientAuthLimiter } from './oauth/client-auth-limiter.js';
import { ClientRequestLimiter } from './oauth/client-request-limiter.js';
import { authorizationCodeGrant } from './oauth/grants/authorization-code.js';
import { clientCredentialsGrant } from './oauth/grants/client-credentials.js';
import { refreshTokenGrant } from './oauth/grants/refresh-token.js';
import type { UserTokenDeps } from './oauth/grants/user-tokens.js';
import { endSession, verifyIdTokenHint } from './oauth/logout.js';
import { authorize } from './oauth/authorize/authorize.js';
import type { BrowserFlowDeps } from './oauth/authorize/flow.js';
import { InteractionSeal } from './oauth/authorize/interaction-seal.js';
import { answerConsent } from './oauth/consent.js';
import { signIn } from './oauth/sign-in.js';
import { interactionCookie } from './http/cookies.js';
import { revokeToken } from './oauth/revocation.js';
import { userinfoClaims } from './oauth/userinfo.js';
import { introspectToken } from './oauth/introspection.js';
import { authorizeResourceRequest } from './oauth/protected-resource.js';
import { handleTokenRequest } from './oauth/token-endpoint.js';
import { createStores, replayCacheLimits, type Stores } from './stores/create-stores.js';
import { MemoryFailureCounter } from './stores/memory/failure-counter.js';
import { MemoryReplayCache } from './stores/memory/replay-cache.js';
import { systemClock, type Clock } from './lib/clock.js';
import { issueAccessToken, verifyAccessToken, type AccessTokenGrant } from './tokens/access-token.js';
import { VerifiedTokenCache } from './tokens/verified-token-cache.js';
import { issueIdToken } from './tokens/id-token.js';
import { KeyRing, loadSigningKeys, type SigningKeys } from './tokens/keys.js';
import { keyReloader, type ReloadKeys } from './reload-keys.js';
import { StaticUserDirectory } from './users/directory.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Re-reads the signing keys and nonce secrets without a restart (SIGHUP); a bad file keeps the old ones. */
    reloadKeys: ReloadKeys;
  }
}

export interface AppOptions {
  config: Config;
  clock?: Clock;
  /** Signing keys, fixed; loaded from config (jwksFile or dataDir), and reloadable, when absent. */
  signingKeys?: SigningKeys;
  /** Nonce MAC secret, fixed; from config or dataDir, and reloadable, when absent. */
  nonceSecret?: Buffer;
  /** Stores; built from config.store when absent. */
  stores?: Stores;
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: NodeJS.WritableStream;
}

/** The composition root: builds adapters and protocol services from config and registers the routes. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  // One holder for the key set: signing, verification, JWKS and metadata read it per request.
  const keys = new KeyRing(
    options.signingKeys ??
      (await loadSigningKeys({ jwksFile: config.keys.jwksFile, dataDir: config.dataDir, algorithm: config.keys.algorithm })),
  );
  const nonceSecrets = options.nonceSecret
    ? { current: options.nonceSecret }
    : loadNonceSecrets({
        nonceSecret: config.dpop.nonceSecret,
        previousNonceSecret: config.dpop.previousNonceSecret,
        dataDir: config.dataDir,
      });

  const issuer = config.issuer;
  const issuerPath = new URL(issuer).pathname.replace(/\/$/, '');
  const urls = endpointUrls(issuer);
  const pathOf = (url: string) => new URL(url).pathname;

  const clients = new StaticClientRegistry(config.clients);
  const createdStores =
    options.stores ?? (await createStores(config.store, replayCacheLimits(config.dpop), clock, { dataDir: config.dataDir }));
  // Metrics (docs/metrics.md): every store call timed; counts from the request line's hook below.
  const memoryReplayCache = createdStores.replayCache instanceof MemoryReplayCache ? createdStores.replayCache : undefined;
  const metrics = config.metrics.enabled
    ? new AppMetrics({
        signingKeys: keys,
        replayCacheEntries: memoryReplayCache && (() => memoryReplayCache.size),
        replayCacheCapacity: memoryReplayCache && config.dpop.replayCacheMaxEntries,
        tokenRoute: pathOf(urls.token),
      })
    : undefined;
  const stores = metrics ? instrumentStores(createdStores, metrics) : createdStores;
  const { replayCache, revoked, codes, grants, refreshTokens } = stores;
  const users = new StaticUserDirectory(config.users);
  // A replay cache in memory starts empty: what it saw before a restart is refused by age instead.
  const notBeforeMs = stores.replayCacheIsVolatile ? clock() : undefined;
  const nonces = new DpopNonces(nonceSecrets, config.dpop.nonceStepSeconds, clock);
  const verifier = new DpopProofVerifier(
    {
      algorithms: config.dpop.algs,
      maxAgeSeconds: config.dpop.maxAgeSeconds,
      maxFutureSeconds: config.dpop.maxFutureSeconds,
      jtiMaxLength: config.dpop.jtiMaxLength,
      keyCacheMaxEntries: config.dpop.keyCacheMaxEntries,
      notBeforeMs,
    },
    { replayCache, nonces, clock, observeProofSkew: metrics?.observeProofSkew },
  );
  const accessTokenSettings = {
    issuer,
    audience: config.accessToken.audience ?? issuer,
    ttlSeconds: config.accessToken.ttlSeconds,
  };
  const issue = (grant: AccessTokenGrant) => issueAccessToken(grant, { keys, settings: accessTokenSettings, clock });
  const verifyToken = (token: string) => verifyAccessToken(token, { keys, issuer, clock, revoked });
  const introspectedTokens = new VerifiedTokenCache({ keys, issuer, clock, revoked });
  // The profile endpoint is a resource of the issuer: it takes tokens whose aud includes it. An
  // SPA presents one token many times; its signature is verified once (the denylist every time).
  const profileTokens = new VerifiedTokenCache({ keys, issuer, clock, revoked, audience: issuer });
  const verifyProfileToken = (token: string) => profileTokens.verify(token);
  // With Redis every instance counts in the same windows (N instances do not allow N times a
  // limit); in memory each process counts its own, the limits apart so one cannot crowd out another.
  const failureCounter = stores.sharedCounter ?? new MemoryFailureCounter(config.clientAuth.maxTrackedKeys, clock);
  const requestCounter = stores.sharedCounter ?? new MemoryFailureCounter(config.rateLimits.memoryMaxTrackedKeys, clock);
  const clientAuthLimiter = new ClientAuthLimiter(failureCounter, config.clientAuth);
  const introspectionLimiter = new ClientRequestLimiter(requestCounter, {
    endpoint: 'introspection',
    maxPerMinute: config.rateLimits.introspectionPerClientPerMinute,
  });
  const revocationLimiter = new ClientRequestLimiter(requestCounter, {
    endpoint: 'revocation',
    maxPerMinute: config.rateLimits.revocationPerClientPerMinute,
  });
  // private_key_jwt assertions may name the issuer or the endpoint they are sent to (RFC 7523 §3).
  const assertions = { audiences: [issuer, urls.token, urls.introspection, urls.revocation], replayCache, clock, notBeforeMs };
  const userTokenDeps: UserTokenDeps = {
    issueAccessToken: issue,
    issueIdToken: (input) => issueIdToken(input, { keys, issuer, ttlSeconds: config.idToken.ttlSeconds, clock }),
    grants,
    refreshTokens,
    revoked,
    clock,
    refreshTokenTtlMs: config.refreshToken.ttlSeconds * 1000,
    reuseGraceMs: config.refreshToken.reuseGraceSeconds * 1000,
    maxLiveAccessTokensPerGrant: config.refreshToken.maxLiveAccessTokensPerGrant,
  };

  const app = Fastify({
    logger: { ...loggerOptions(config.logLevel), ...(options.logStream ? { stream: options.logStream } : {}) },
    bodyLimit: config.http.bodyLimit,
    // The issuer is configured; X-Forwarded-* never shapes a URL here, only the client address.
    trustProxy: config.http.trustProxy,
    // Timeouts, the parser's own refusals as OAuth errors, and the drain: src/http/server-limits.ts.
    ...serverLimitOptions(config.http),
    ...requestLogOptions(),
  });
  applyServerLimits(app, config.http);
  app.addHook('onClose', async () => stores.close());
  app.decorate(
    'reloadKeys',
    keyReloader({ config, ring: options.signingKeys ? undefined : keys, nonces: options.nonceSecret ? undefined : nonces, log: app.log }),
  );
  await app.register(formBody);
  await app.register(rateLimit, {
    global: false,
    store: counterRateLimitStore(requestCounter),
    // An IPv6 subscriber holds a /64: counted by address, it would get the limit 2^64 times.
    keyGenerator: (request) => addressBlock(request.ip),
    // Fails closed: a limiter that lets everyone in while Redis is down lets a guesser in too,
    // and the sign-in needs Redis anyway (its interactions and sessions live there).
    skipOnError: false,
  });
  registerErrorHandler(app, { realm: issuer, dpopAlgorithms: config.dpop.algs });
  registerObservability(app, { metrics, config: config.metrics, loginRoute: pathOf(urls.login) });
  const corsPaths = await registerCors(app, {
    paths: [urls.token, urls.profile, urls.revocation, urls.jwks, `${issuer}/.well-known/openid-configuration`]
      .map(pathOf)
      .concat(`/.well-known/oauth-authorization-server${issuerPath}`),
    origins: allowedOrigins(config.clients),
  });

  registerHealthRoute(app, { ping: () => stores.ping() });
  let metadata: { keys: SigningKeys; value: Record<string, unknown> } | undefined;
  registerDiscoveryRoutes(app, {
    issuerPath,
    metadata: () => {
      const current = keys.snapshot;
      if (metadata?.keys !== current) metadata = { keys: current, value: providerMetadata(config, urls, current.algorithms) };
      return metadata.value;
    },
  });
  registerJwksRoute(app, { path: pathOf(urls.jwks), jwks: () => keys.publicJwks });

  const tokenDeps = {
    clients,
    assertions,
    clientAuthLimiter,
    verifier,
    nonces,
    grants: {
      client_credentials: clientCredentialsGrant({ issueAccessToken: issue }),
      authorization_code: authorizationCodeGrant({ ...userTokenDeps, codes, grantTtlMs: config.refreshToken.ttlSeconds * 1000 }),
      refresh_token: refreshTokenGrant(userTokenDeps),
    },
    tokenUrl: normalizeHtu(urls.token)!,
    requireNonce: config.dpop.requireNonce,
  };
  registerTokenRoute(app, { path: pathOf(urls.token), handle: (request) => handleTokenRequest(request, tokenDeps) });

  const resourceDeps = {
    verifier,
    nonces,
    clients,
    verifyAccessToken: verifyProfileToken,
    resourceUrl: normalizeHtu(urls.profile)!,
    requireNonce: config.dpop.requireNonce,
  };
  registerProfileRoute(app, {
    path: pathOf(urls.profile),
    authorize: (request) => authorizeResourceRequest(request, resourceDeps),
    claimsFor: (token) => userinfoClaims(token, users),
  });
  registerIntrospectionRoute(app, {
    path: pathOf(urls.introspection),
    introspect: (request) =>
      introspectToken(request, {
        clients,
        assertions,
        clientAuthLimiter,
        requestLimiter: introspectionLimiter,
        verifyAccessToken: (token) => introspectedTokens.verify(token),
      }),
  });
  registerRevocationRoute(app, {
    path: pathOf(urls.revocation),
    revoke: (request) =>
      revokeToken(request, {
        clients,
        assertions,
        clientAuthLimiter,
        requestLimiter: revocationLimiter,
        refreshTokens,
        revoked,
        grants,
        verifyAccessToken: verifyToken,
      }),
  });
  const browserFlow: BrowserFlowDeps = {
    issuer,
    clock,
    clients,
    users,
    codes,
    consents: stores.consents,
    sessions: stores.sessions,
    endedInteractions: stores.endedInteractions,
    // Keyed from the nonce secret (shared by every instance already), following its reloads.
    seal: new InteractionSeal(() => nonces.currentSecrets, { cookieName: interactionCookie }),
    codeTtlMs: config.authorizationCode.ttlSeconds * 1000,
    consentTtlMs: config.session.consentTtlSeconds * 1000,
    sessionTtlMs: config.session.ttlSeconds * 1000,
    interactionTtlMs: config.session.interactionTtlSeconds * 1000,
  };
  // Cookies belong to the browser's routes only: the API routes neither read nor set one, and
  // skip the plugin's two hooks.
  await app.register(async (scope) => {
    await scope.register(cookie);
    registerAuthorizeRoutes(scope, {
      paths: { authorize: pathOf(urls.authorization), login: pathOf(urls.login), consent: pathOf(urls.consent) },
      issuer,
      authorize: (params, cookies) => authorize(params, cookies, browserFlow),
      signIn: (form, cookies) => signIn(form, cookies, browserFlow),
      consent: (form, cookies) => answerConsent(form, cookies, browserFlow),
      loginAttemptsPerMinute: config.http.loginAttemptsPerMinute,
      authorizeRequestsPerMinute: config.http.authorizeRequestsPerMinute,
    });
    const logoutDeps = {
      sessions: stores.sessions,
      clients,
      verifyIdTokenHint: (token: string) => verifyIdTokenHint(token, { keys, issuer }),
    };
    registerLogoutRoute(scope, { path: pathOf(urls.endSession), issuer, logout: (input) => endSession(input, logoutDeps) });
  });
  // Once every route is in (plugins included), the CORS paths refuse their other methods through CORS.
  await app.after();
  corsPaths.refuseOtherMethods();
  return app;
}
