import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createStores, type Stores } from '../../src/stores/create-stores.js';
import { StoreUnavailableError } from '../../src/stores/ports.js';
import { hashClientSecret, hashPassword } from '../../src/users/secret-hash.js';
import { generateSigningJwks, signingKeysFromJwks, type SigningKeys } from '../../src/tokens/keys.js';

export const issuer = 'https://op.example.test/oidc';

export const serviceClient = { id: 'service', secret: 'service-secret-0123456789abcdef-0123' };
export const webClient = { id: 'web', secret: 'web-secret-0123456789abcdef-0123456789' };
export const spaRedirect = 'https://spa.example.test/callback';
export const spaOrigin = 'https://spa.example.test';
export const webRedirect = 'https://web.example.test/cb';
export const alice = { username: 'alice', password: 'correct horse battery staple', sub: 'user-alice' };
export const resourceServer = { id: 'resource-server', secret: 'rs-secret-0123456789abcdef-0123456789' };

/** A test clock: starts at a fixed time and moves only when told. */
export function testClock(start = Date.UTC(2026, 10, 29, 12, 0, 0)) {
  let now = start;
  const clock = () => now;
  clock.advance = (ms: number) => {
    now += ms;
  };
  clock.set = (ms: number) => {
    now = ms;
  };
  return clock;
}

let sharedKeys: Promise<SigningKeys> | undefined;
/** One generated signing key set for the whole test run (generation is the slow part). */
export function testSigningKeys(): Promise<SigningKeys> {
  sharedKeys ??= generateSigningJwks('ES256').then(signingKeysFromJwks);
  return sharedKeys;
}

export function defaultTestClients(): NonNullable<ConfigInput['clients']> {
  return [
    {
      client_id: serviceClient.id,
      client_secret_hash: hashClientSecret(serviceClient.secret),
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      scope: 'api:read api:write',
    },
    {
      client_id: 'post-client',
      client_secret_hash: hashClientSecret(serviceClient.secret),
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials'],
      scope: 'api:read',
    },
    {
      client_id: 'bound-client',
      client_secret_hash: hashClientSecret(serviceClient.secret),
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      scope: 'api:read',
      dpop_bound_access_tokens: true,
    },
    {
      client_id: 'nonce-client',
      client_secret_hash: hashClientSecret(serviceClient.secret),
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      scope: 'api:read',
      dpop_require_nonce: true,
    },
    {
      client_id: 'spa',
      client_name: 'Test SPA',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [spaRedirect],
      post_logout_redirect_uris: [`${spaOrigin}/signed-out`],
      scope: 'openid profile email offline_access api:read',
    },
    {
      client_id: 'first-party-spa',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: ['http://localhost:5173/callback'],
      scope: 'openid profile offline_access',
      first_party: true,
    },
    {
      client_id: webClient.id,
      client_secret_hash: hashClientSecret(webClient.secret),
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [webRedirect],
      scope: 'openid profile email offline_access',
      first_party: true,
    },
    {
      client_id: resourceServer.id,
      client_secret_hash: hashClientSecret(resourceServer.secret),
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [],
      introspection_allowed: true,
    },
  ];
}

let aliceHash: Promise<string> | undefined;
/** The test user; the scrypt hash is made once per run. */
export async function testUsers(): Promise<NonNullable<ConfigInput['users']>> {
  aliceHash ??= hashPassword(alice.password);
  return [
    {
      sub: alice.sub,
      username: alice.username,
      password_hash: await aliceHash,
      claims: { name: 'Alice Example', email: 'alice@example.test', email_verified: true, preferred_username: 'alice' },
    },
  ];
}

export interface TestApp {
  app: FastifyInstance;
  clock: ReturnType<typeof testClock>;
  logs: () => string;
}

/** The real app with test config, an injected clock and captured log lines. */
export async function makeTestApp(
  overrides: Partial<ConfigInput> = {},
  options: { clock?: ReturnType<typeof testClock>; stores?: Stores } = {},
): Promise<TestApp> {
  const clock = options.clock ?? testClock();
  let logged = '';
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logged += chunk.toString();
      done();
    },
  });
  // Each app keeps what must survive a restart (the revocation list) in a directory of its own.
  const dataDir = mkdtempSync(join(tmpdir(), 'dpop-oidc-test-data-'));
  const config = parseConfig({ issuer, logLevel: 'info', dataDir, clients: defaultTestClients(), users: await testUsers(), ...overrides });
  const app = await buildApp({
    config,
    clock,
    signingKeys: await testSigningKeys(),
    nonceSecret: Buffer.from('test-nonce-secret-0123456789abcdef0123456789'),
    logStream,
    ...(options.stores ? { stores: options.stores } : {}),
  });
  app.addHook('onClose', async () => rmSync(dataDir, { recursive: true, force: true }));
  return { app, clock, logs: () => logged };
}

export function basicAuth(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export const form = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * In-memory stores whose grant store fails the next `addAccessToken` when `failNext()` is
 * called: a store error after every check has passed, as a Redis timeout would be.
 */
export async function storesFailingOnce(): Promise<{ stores: Stores; failNext: () => void }> {
  const stores = await createStores(parseConfig({}).store, { replayCacheMaxEntries: 1000 }, testClock());
  const grants = stores.grants;
  let fail = false;
  stores.grants = {
    create: (grant, ttlMs) => grants.create(grant, ttlMs),
    find: (id) => grants.find(id),
    revoke: (id) => grants.revoke(id),
    addAccessToken: async (grantId, jti, expiresAtMs) => {
      if (fail) {
        fail = false;
        throw new StoreUnavailableError('grant store: timeout');
      }
      return grants.addAccessToken(grantId, jti, expiresAtMs);
    },
  };
  return { stores, failNext: () => (fail = true) };
}
