import { z } from 'zod';
import { usersConfigSchema } from '../users/directory.js';

/**
 * The one configuration schema. Server settings are camelCase; client and user entries use
 * the registered metadata names (RFC 7591, OpenID Connect) so they read like registrations.
 * Defaults are documented here, where they are defined.
 */

const issuerUrl = z
  .string()
  .url()
  .refine((value) => {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.search && !url.hash;
  }, 'must be an http(s) URL without query or fragment')
  // One canonical form: no trailing slash, so `${issuer}/token` is the endpoint URL.
  .transform((value) => value.replace(/\/+$/, ''));

/** Algorithms of a generated signing key (the server and `npm run keys -- generate --alg`). */
export const signingKeyAlgorithms = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'] as const;

export const dpopAlgorithms = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'EdDSA', 'Ed25519'] as const;

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);
/** Schemes that run or embed content in the browser instead of reaching a client. */
const scriptSchemes = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:']);
/** RFC 8252 §7.1: a native app's private-use scheme is a reverse domain name it controls, e.g. com.example.app. */
const privateUseScheme = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+:$/;
const allowedRedirectSchemes =
  'https, http on a loopback host (localhost, 127.0.0.1, [::1]), or a private-use scheme such as com.example.app:/callback (RFC 8252 §7.1)';

/**
 * A redirect target the provider sends a browser to (redirect_uris, post_logout_redirect_uris):
 * https, http only on loopback (RFC 8252 §7.3, RFC 9700 §2.6), or a native app's private-use
 * scheme (RFC 8252 §7.1). Never a fragment (RFC 6749 §3.1.2) nor userinfo, which makes a
 * registered URI look like another host. Values are kept as written: requests compare exactly.
 */
const redirectUri = z.string().superRefine((value, ctx) => {
  if (!URL.canParse(value)) {
    ctx.addIssue({ code: 'custom', message: `must be an absolute URI; use ${allowedRedirectSchemes}` });
    return;
  }
  const url = new URL(value);
  const scheme = url.protocol;
  if (scriptSchemes.has(scheme)) {
    ctx.addIssue({ code: 'custom', message: `the ${scheme} scheme is never allowed; use ${allowedRedirectSchemes}` });
  } else if (scheme === 'http:' && !loopbackHosts.has(url.hostname)) {
    ctx.addIssue({ code: 'custom', message: `http is allowed only on a loopback host (localhost, 127.0.0.1, [::1]); use https` });
  } else if (scheme !== 'https:' && scheme !== 'http:' && !privateUseScheme.test(scheme)) {
    ctx.addIssue({ code: 'custom', message: `the ${scheme} scheme is not allowed; use ${allowedRedirectSchemes}` });
  }
  if (value.includes('#')) ctx.addIssue({ code: 'custom', message: 'must not have a fragment (RFC 6749 §3.1.2)' });
  if (url.username || url.password || /^[^:/?#]+:\/\/[^/?#]*@/.test(value)) {
    ctx.addIssue({ code: 'custom', message: 'must not have user information (user@host)' });
  }
});

/** A browser origin as the Origin header carries it, compared exactly: scheme://host[:port], no path. */
const corsOrigin = z.string().refine((value) => {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
}, 'must be an origin, scheme://host[:port] in lower case with no path, query or trailing slash, e.g. https://app.example.com');

const clientSchema = z
  .object({
    client_id: z.string().min(1).max(200),
    client_name: z.string().optional(),
    /** Hash of the client secret, made with `npm run hash-secret` (never the secret itself). */
    client_secret_hash: z.string().min(1).optional(),
    token_endpoint_auth_method: z
      .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'])
      .default('client_secret_basic'),
    /** Public keys for private_key_jwt (RFC 7523): a JWK set, each key with kty and, best, kid and alg. */
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
    grant_types: z
      .array(z.enum(['client_credentials', 'authorization_code', 'refresh_token']))
      .default(['client_credentials']),
    /** Space-separated scopes the client may ask for. */
    scope: z.string().default(''),
    /** RFC 9449 §5.2: when true, token requests without a DPoP proof are refused. */
    dpop_bound_access_tokens: z.boolean().default(false),
    /** Require a server-provided DPoP nonce from this client (RFC 9449 §8), even when not required globally. */
    dpop_require_nonce: z.boolean().default(false),
    /** May call the introspection endpoint (RFC 7662 §2.1: callers must be authorised). */
    introspection_allowed: z.boolean().default(false),
    /** Exact redirect URIs (RFC 9700 §2.1): https, http only on loopback hosts (§2.6), or a private-use scheme (RFC 8252 §7.1). */
    redirect_uris: z.array(redirectUri).default([]),
    /** Where logout may send the browser back to; the same rules as redirect_uris. */
    post_logout_redirect_uris: z.array(redirectUri).default([]),
    /** Browser origins allowed by CORS; defaults to the origins of redirect_uris. */
    allowed_cors_origins: z.array(corsOrigin).optional(),
    /** Skip the consent page for this client. */
    first_party: z.boolean().default(false),
  })
  .superRefine((client, ctx) => {
    if (client.token_endpoint_auth_method === 'private_key_jwt') {
      if (!client.jwks) ctx.addIssue({ code: 'custom', path: ['jwks'], message: 'required for private_key_jwt' });
      const privateMember = client.jwks?.keys.findIndex((key) => ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((member) => member in key));
      if (privateMember !== undefined && privateMember >= 0) {
        ctx.addIssue({ code: 'custom', path: ['jwks', 'keys', privateMember], message: 'must be a public key' });
      }
    } else if (client.token_endpoint_auth_method !== 'none' && !client.client_secret_hash) {
      ctx.addIssue({
        code: 'custom',
        path: ['client_secret_hash'],
        message: `required for token_endpoint_auth_method ${client.token_endpoint_auth_method}`,
      });
    }
    if (client.grant_types.includes('authorization_code') && client.redirect_uris.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['redirect_uris'], message: 'required for the authorization_code grant' });
    }
    if (client.token_endpoint_auth_method === 'none' && client.grant_types.includes('client_credentials')) {
      ctx.addIssue({
        code: 'custom',
        path: ['grant_types'],
        message: 'a public client (token_endpoint_auth_method none) cannot use client_credentials',
      });
    }
  });

export const configSchema = z
  .object({
    /** Public issuer URL; endpoint URLs and every expected DPoP `htu` derive from it, never from request headers. */
    issuer: issuerUrl.default('http://localhost:8080/oidc'),
    http: z
      .object({
        port: z.coerce.number().int().min(0).max(65535).default(8080),
        host: z.string().default('0.0.0.0'),
        /** Largest accepted request body, in bytes. */
        bodyLimit: z.number().int().positive().default(64 * 1024),
        /**
         * Which proxies to believe for the client address (Fastify trustProxy: true, or
         * comma-separated addresses/CIDRs). Only the logged address and rate limits use it;
         * URLs always come from `issuer`.
         */
        trustProxy: z.union([z.boolean(), z.string()]).default(false),
        /** Sign-in attempts per client address per minute. */
        loginAttemptsPerMinute: z.number().int().min(1).default(10),
        /** Authorization requests per client address per minute (each may start a pending sign-in). */
        authorizeRequestsPerMinute: z.number().int().min(1).default(120),
        /**
         * Time to receive a request's headers, from its first byte (or from the connection).
         * A slowloris that never finishes them is answered 408 and closed. 15 s leaves a slow
         * mobile link time for a few KiB of headers.
         */
        headersTimeoutMs: z.number().int().min(100).default(15_000),
        /** Time to receive a whole request, headers and body (408 and closed after it). A 64 KiB body at 50 kbit/s takes about 10 s. */
        requestTimeoutMs: z.number().int().min(100).default(30_000),
        /**
         * How long an idle kept-alive connection stays open. Longer than a proxy's usual upstream
         * idle time (nginx, load balancers: 60 s), so the proxy closes first and never reuses a
         * connection this server is closing.
         */
        keepAliveTimeoutMs: z.number().int().min(100).default(72_000),
        /**
         * Open connections one client may hold (0: no bound), counted by the socket's peer
         * address (an IPv6 address by its /64), since that is what holds a descriptor; never by
         * X-Forwarded-For. Behind a proxy every connection comes from the proxy: raise this
         * above its upstream connection pool (or set 0) and bound clients at the proxy.
         * Beyond it a new connection is answered 429 and closed.
         */
        maxConnectionsPerAddress: z.number().int().min(0).default(128),
        /** Open connections in all; beyond it a new connection is closed at once. Keep it below the descriptor limit (ulimit -n). */
        maxConnections: z.number().int().min(1).default(10_000),
        /**
         * On SIGTERM/SIGINT, how long in-flight requests may take before the process exits anyway
         * (with status 1). Below the orchestrator's grace period (Kubernetes: 30 s).
         */
        shutdownDrainMs: z.number().int().min(0).default(25_000),
      })
      // Node refuses a headers timeout longer than the whole-request timeout.
      .refine((http) => http.headersTimeoutMs <= http.requestTimeoutMs, {
        path: ['headersTimeoutMs'],
        message: 'must not exceed http.requestTimeoutMs',
      })
      .default({
        port: 8080,
        host: '0.0.0.0',
        bodyLimit: 64 * 1024,
        trustProxy: false,
        loginAttemptsPerMinute: 10,
        authorizeRequestsPerMinute: 120,
        headersTimeoutMs: 15_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 72_000,
        maxConnectionsPerAddress: 128,
        maxConnections: 10_000,
        shutdownDrainMs: 25_000,
      }),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * What must survive a restart: generated signing keys, the generated nonce secret and, with
     * the memory store, the access-token revocation list. Mount it as a volume.
     */
    dataDir: z.string().default('./data'),
    keys: z
      .object({
        /**
         * A JWK set file with private signing keys (each with kid and alg; `"state": "active"` on
         * the one that signs, `"published"` on the others, or no states: the first signs). Without
         * it, keys are generated once into dataDir/signing-keys.json. Both are reloaded on SIGHUP
         * and edited by `npm run keys` (docs/operations.md).
         */
        jwksFile: z.string().optional(),
        /** Algorithm of a generated key. */
        algorithm: z.enum(signingKeyAlgorithms).default('ES256'),
      })
      .default({ algorithm: 'ES256' }),
    accessToken: z
      .object({
        ttlSeconds: z.number().int().min(30).max(86_400).default(600),
        /** `aud` of access tokens (RFC 9068 §3); defaults to the issuer, whose profile endpoint is the resource. */
        audience: z.string().optional(),
      })
      .default({ ttlSeconds: 600 }),
    dpop: z
      .object({
        /** Proof algorithms accepted; asymmetric only (RFC 9449 §11.6). */
        algs: z.array(z.enum(dpopAlgorithms)).min(1).default(['ES256', 'ES384', 'PS256', 'EdDSA', 'Ed25519']),
        /** How old a proof's `iat` may be, in seconds (RFC 9449 §11.1). */
        maxAgeSeconds: z.number().int().min(1).max(600).default(60),
        /** How far in the future a proof's `iat` may be, for clock skew. */
        maxFutureSeconds: z.number().int().min(0).max(300).default(5),
        /** Longer `jti` values are refused (RFC 9449 §11.1, memory exhaustion). */
        jtiMaxLength: z.number().int().min(16).max(4096).default(256),
        /** Require a server nonce in every proof (RFC 9449 §8, §9). */
        requireNonce: z.boolean().default(false),
        /** Secret for the stateless nonce MAC; every instance must share it. Generated into dataDir when absent. */
        nonceSecret: z.string().min(32).optional(),
        /**
         * A second secret whose nonces are accepted but never issued: the one before a rotation,
         * or the next one while it reaches every instance (docs/operations.md). Needs nonceSecret.
         */
        previousNonceSecret: z.string().min(32).optional(),
        /** A nonce is valid for the current and the previous step of this length. */
        nonceStepSeconds: z.number().int().min(10).max(3600).default(60),
        /**
         * Bound of the in-memory replay cache; when full of live entries, requests fail closed
         * (503). One process serves at most about 2 800 DPoP requests per second (README,
         * benchmark), whose entries live the 65 s window: about 180 000 live entries, plus client
         * assertions (up to 305 s). 1 000 000 leaves room for that several times over, and costs
         * about 45 MB when full (docs/performance.md; up to 150 MB if every entry has its own owner).
         */
        replayCacheMaxEntries: z.number().int().min(100).default(1_000_000),
        /**
         * Live replay entries one credential may hold: a confidential client (its DPoP proofs and
         * client assertions), a public client's grant, or an access token's client and subject.
         * Past it the request is answered 429 with Retry-After, and the cache stays free for
         * everyone else (RFC 9449 §11.1: one holder of a valid credential cannot fill it).
         * 100 000 over a 60 s proof life allows about 1 600 claims per second per credential
         * (800 private_key_jwt token requests with DPoP); a user's grant needs a few per minute.
         */
        replayCacheMaxEntriesPerOwner: z.number().int().min(1).default(100_000),
        /** Bound of the imported-proof-key cache. */
        keyCacheMaxEntries: z.number().int().min(1).default(1000),
      })
      .default({
        algs: ['ES256', 'ES384', 'PS256', 'EdDSA', 'Ed25519'],
        maxAgeSeconds: 60,
        maxFutureSeconds: 5,
        jtiMaxLength: 256,
        requireNonce: false,
        nonceStepSeconds: 60,
        replayCacheMaxEntries: 1_000_000,
        replayCacheMaxEntriesPerOwner: 100_000,
        keyCacheMaxEntries: 1000,
      }),
    authorizationCode: z
      .object({ ttlSeconds: z.number().int().min(10).max(600).default(60) })
      .default({ ttlSeconds: 60 }),
    refreshToken: z
      .object({
        /** Each refresh token lives this long; rotation issues a new one on every use. */
        ttlSeconds: z.number().int().min(60).default(14 * 86_400),
        /**
         * How long the holder (same DPoP key, or the same authenticated confidential client) may
         * present a just-rotated refresh token again, before its successor is used, and get an
         * answer instead of a revoked grant: a response lost to a timeout, a double submit, two
         * tabs. The same grace applies to retrying a code exchange. 0 turns it off.
         */
        reuseGraceSeconds: z.number().int().min(0).max(600).default(60),
        /** Live access tokens a grant keeps track of; beyond it the oldest is revoked (a refresh loop cannot grow the list). */
        maxLiveAccessTokensPerGrant: z.number().int().min(1).max(10_000).default(32),
      })
      .default({ ttlSeconds: 14 * 86_400, reuseGraceSeconds: 60, maxLiveAccessTokensPerGrant: 32 }),
    idToken: z.object({ ttlSeconds: z.number().int().min(30).max(86_400).default(600) }).default({ ttlSeconds: 600 }),
    session: z
      .object({
        /** How long a sign-in at the provider lasts. */
        ttlSeconds: z.number().int().min(60).default(8 * 3600),
        /** How long a user has to finish signing in and consenting. */
        interactionTtlSeconds: z.number().int().min(60).default(600),
        /** How long a consent is remembered. */
        consentTtlSeconds: z.number().int().min(60).default(365 * 86_400),
      })
      .default({ ttlSeconds: 8 * 3600, interactionTtlSeconds: 600, consentTtlSeconds: 365 * 86_400 }),
    store: z
      .object({
        /** memory: one process (the embedded default); redis: state shared by every instance. */
        type: z.enum(['memory', 'redis']).default('memory'),
        /** The one Redis server (redis:// or rediss://, with a password if it needs one); unused with redisCluster or redisSentinel. */
        redisUrl: z.string().url().default('redis://127.0.0.1:6379'),
        /**
         * A Redis Cluster instead of one server (REDIS_CLUSTER_NODES, comma-separated URLs): some
         * of its nodes, the rest are discovered. The password, user and TLS (rediss://) of the
         * first URL apply to every node. The keys of each entity share a hash tag, so each script
         * runs in one slot; every master is checked for eviction and pinged by /readyz.
         */
        redisCluster: z.object({ nodes: z.array(z.string().url()).min(1) }).optional(),
        /**
         * A master found through Redis Sentinel instead of a fixed server (REDIS_SENTINELS as
         * host:port,host:port and REDIS_SENTINEL_NAME): after a failover the client follows the
         * new master. `password` (and `username`) are the Redis servers'; `sentinelPassword` the
         * sentinels' own, when they require one.
         */
        redisSentinel: z
          .object({
            sentinels: z.array(z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65_535).default(26_379) })).min(1),
            /** The master group name the sentinels monitor (`sentinel monitor <name> ...`). */
            name: z.string().min(1),
            username: z.string().min(1).optional(),
            password: z.string().min(1).optional(),
            sentinelPassword: z.string().min(1).optional(),
          })
          .optional(),
        /**
         * Prefix of every Redis key, so several deployments can share a server. No braces: the
         * adapters place hash tags (`{...}`) themselves, and a brace in the prefix would move them.
         */
        keyPrefix: z
          .string()
          .regex(/^[^{}]*$/, 'must not contain { or } (the Redis adapters place the hash tags)')
          .default('dpop-oidc:'),
        /** Bound of each in-memory store; when full of live entries, requests fail closed. */
        memoryMaxEntries: z.number().int().min(100).default(1_000_000),
        /**
         * Start (and report ready) although Redis's maxmemory-policy is not noeviction. Every key
         * has a TTL, so any evicting policy can drop revocations and replay entries under memory
         * pressure: a revoked token or a used proof is accepted again. Only for a Redis you know
         * never reaches maxmemory.
         */
        allowEvictingRedis: z.boolean().default(false),
      })
      .refine((store) => store.redisCluster === undefined || store.redisSentinel === undefined, {
        message: 'set redisCluster or redisSentinel, not both',
        path: ['redisSentinel'],
      })
      .default({
        type: 'memory',
        redisUrl: 'redis://127.0.0.1:6379',
        keyPrefix: 'dpop-oidc:',
        memoryMaxEntries: 1_000_000,
        allowEvictingRedis: false,
      }),
    /**
     * Failed client authentications (token, introspection, revocation), counted in fixed windows
     * against guessing a client secret. A secret presented for a client_id, known or not, counts
     * against that client_id; every failure counts against the caller's address (IPv6 by /64).
     * Once a key has its maximum, every attempt for it is answered 429 with Retry-After until
     * the window ends, the right secret included, so that guessing cannot go on.
     */
    clientAuth: z
      .object({
        /** Failures with a secret for one client_id per window. Anyone can spend them: this is also how long a client can be locked out. */
        maxFailuresPerClient: z.number().int().min(1).default(10),
        /** Failures from one address (an IPv6 /64) per window, whatever the client_id or method. */
        maxFailuresPerAddress: z.number().int().min(1).default(30),
        /** Length of a window; it starts at a key's first failure. */
        windowSeconds: z.number().int().min(1).max(86_400).default(60),
        /** Keys (client_ids and addresses) tracked in memory; when full, the oldest window is dropped first. */
        maxTrackedKeys: z.number().int().min(100).default(100_000),
      })
      .default({ maxFailuresPerClient: 10, maxFailuresPerAddress: 30, windowSeconds: 60, maxTrackedKeys: 100_000 }),
    /**
     * Requests per authenticated client per minute, in fixed windows: past a limit the request is
     * answered 429 with Retry-After. With the Redis store every instance counts in the same
     * windows, as do the sign-in and authorization limits (http.loginAttemptsPerMinute,
     * http.authorizeRequestsPerMinute, per client address) and the clientAuth limits.
     */
    rateLimits: z
      .object({
        /**
         * Introspection requests of one client. A resource server that introspects every request
         * it serves needs one per request: 30 000 a minute is 500 a second, about a tenth of
         * what one instance answered in the benchmark (README), so one client cannot take it
         * all; one that verifies the RFC 9068 access tokens itself needs none.
         */
        introspectionPerClientPerMinute: z.number().int().min(1).default(30_000),
        /**
         * Revocation requests of one client. Each may add a denylist entry that lives until its
         * token expires: 600 a minute with 10-minute tokens is at most 6 000 entries per client.
         */
        revocationPerClientPerMinute: z.number().int().min(1).default(600),
        /**
         * Keys (addresses, client_ids) the memory store tracks for these limits and the sign-in
         * and authorization limits; when full, the oldest windows are dropped first.
         */
        memoryMaxTrackedKeys: z.number().int().min(100).default(100_000),
      })
      .default({ introspectionPerClientPerMinute: 30_000, revocationPerClientPerMinute: 600, memoryMaxTrackedKeys: 100_000 }),
    clients: z.array(clientSchema).default([]),
    users: usersConfigSchema.default([]),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.clients.forEach((client, index) => {
      if (seen.has(client.client_id)) {
        ctx.addIssue({ code: 'custom', path: ['clients', index, 'client_id'], message: `duplicate client_id ${client.client_id}` });
      }
      seen.add(client.client_id);
    });
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ClientConfig = z.infer<typeof clientSchema>;
