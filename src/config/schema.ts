import { z } from 'zod';
import { usersConfigSchema } from './schema/users.js';
import { clientSchema } from './schema/client.js';
import { dpopSchema } from './schema/dpop.js';
import { httpSchema } from './schema/http.js';
import { clientAuthSchema, rateLimitsSchema } from './schema/limits.js';
import { metricsSchema } from './schema/metrics.js';
import { storeSchema } from './schema/store.js';
import {
  accessTokenSchema,
  authorizationCodeSchema,
  idTokenSchema,
  keysSchema,
  refreshTokenSchema,
  sessionSchema,
} from './schema/tokens.js';
import { issuerUrl } from './schema/uris.js';

export { dpopAlgorithms } from './schema/dpop.js';
export { signingKeyAlgorithms } from './schema/tokens.js';

/**
 * The one configuration schema. Server settings are camelCase; client and user entries use the
 * registered metadata names (RFC 7591, OpenID Connect) so they read like registrations.
 *
 * Every object is strict: an unknown key (a typo such as dpop_bound_access_token) is an error,
 * never a setting silently dropped. Each section is `.prefault({})`, so an absent section is
 * parsed as `{}` and gets every inner default; defaults and descriptions live on the fields,
 * and docs/configuration.md is generated from them (`npm run -s config-reference`).
 */
export const configSchema = z
  .strictObject({
    issuer: issuerUrl
      .default('http://localhost:8080/oidc')
      .describe('Public issuer URL; endpoint URLs and every expected DPoP htu derive from it, never from request headers.'),
    http: httpSchema,
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Least severe log level written.'),
    dataDir: z
      .string()
      .default('./data')
      .describe('What must survive a restart: generated signing keys and nonce secret, the revocation list of the memory store.'),
    keys: keysSchema,
    accessToken: accessTokenSchema,
    dpop: dpopSchema,
    authorizationCode: authorizationCodeSchema,
    refreshToken: refreshTokenSchema,
    idToken: idTokenSchema,
    session: sessionSchema,
    store: storeSchema,
    clientAuth: clientAuthSchema,
    rateLimits: rateLimitsSchema,
    metrics: metricsSchema,
    clients: z.array(clientSchema).default([]).describe('Registered clients.'),
    users: usersConfigSchema.default([]).describe('Users who sign in at the provider, with their claims.'),
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
