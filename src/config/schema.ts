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

export const dpopAlgorithms = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'EdDSA', 'Ed25519'] as const;

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);
const redirectUri = z
  .string()
  .url()
  .refine((value) => {
    const url = new URL(value);
    if (url.hash) return false;
    return url.protocol === 'https:' || (url.protocol === 'http:' && loopbackHosts.has(url.hostname));
  }, 'must be an https URL (http only on localhost) without fragment');

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
    /** Exact redirect URIs (RFC 9700 §2.1); https, or http only on loopback hosts (§2.6). */
    redirect_uris: z.array(redirectUri).default([]),
    post_logout_redirect_uris: z.array(z.string().url()).default([]),
    /** Browser origins allowed by CORS; defaults to the origins of redirect_uris. */
    allowed_cors_origins: z.array(z.string().url()).optional(),
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
    /** Where generated signing keys and the generated nonce secret are kept across restarts. */
    dataDir: z.string().default('./data'),
    keys: z
      .object({
        /** A JWK set file with private signing keys (each with kid and alg). Without it, keys are generated once into dataDir. */
        jwksFile: z.string().optional(),
        /** Algorithm of a generated key. */
        algorithm: z.enum(['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA']).default('ES256'),
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
        /** A nonce is valid for the current and the previous step of this length. */
        nonceStepSeconds: z.number().int().min(10).max(3600).default(60),
        /** Bound of the in-memory replay cache; when full of live entries, requests fail closed. */
        replayCacheMaxEntries: z.number().int().min(100).default(500_000),
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
        replayCacheMaxEntries: 500_000,
        keyCacheMaxEntries: 1000,
      }),
    authorizationCode: z
      .object({ ttlSeconds: z.number().int().min(10).max(600).default(60) })
      .default({ ttlSeconds: 60 }),
    refreshToken: z
      .object({
        /** Each refresh token lives this long; rotation issues a new one on every use. */
        ttlSeconds: z.number().int().min(60).default(14 * 86_400),
      })
      .default({ ttlSeconds: 14 * 86_400 }),
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
        redisUrl: z.string().url().default('redis://127.0.0.1:6379'),
        /** Prefix of every Redis key, so several deployments can share a server. */
        keyPrefix: z.string().default('dpop-oidc:'),
        /** Bound of each in-memory store; when full of live entries, requests fail closed. */
        memoryMaxEntries: z.number().int().min(100).default(1_000_000),
      })
      .default({ type: 'memory', redisUrl: 'redis://127.0.0.1:6379', keyPrefix: 'dpop-oidc:', memoryMaxEntries: 1_000_000 }),
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
