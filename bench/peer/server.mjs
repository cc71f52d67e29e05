/**
 * node-oidc-provider configured like dpop-oidc's demo config, for the side-by-side benchmark
 * (bench/compare.ts starts it): the same three clients and secrets, DPoP on, ES256 JWT access
 * tokens for client_credentials, user tokens for the code flow, in-memory storage.
 *   PORT=8090 JWKS_FILE=keys.json node bench/peer/server.mjs
 * Listens on 127.0.0.1 only and prints one JSON line {"ready":true,...} once it accepts requests.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';
// The shipped memory adapter, with a bound like dpop-oidc's store.memoryMaxEntries (1 000 000)
// instead of its development default of 1 000 entries: with 1 000, codes minted before a round
// and DPoP replay entries would be evicted during the round.
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const port = Number(process.env.PORT ?? 8090);
const issuer = `http://127.0.0.1:${port}`;
const jwks = JSON.parse(readFileSync(process.env.JWKS_FILE, 'utf8'));
/** The resource server of the client_credentials tokens (dpop-oidc: the issuer is their audience). */
const apiResource = 'urn:bench:api';
const redirectUri = 'http://localhost:5173/callback';
const userScope = 'openid profile email offline_access';

const store = new LRU({ maxSize: 1_000_000 });
const users = {
  alice: {
    sub: 'alice',
    name: 'Alice Example',
    given_name: 'Alice',
    family_name: 'Example',
    preferred_username: 'alice',
    email: 'alice@example.com',
    email_verified: true,
  },
};

const provider = new Provider(issuer, {
  adapter: (model) => new MemoryAdapter(model, store, 0),
  jwks: { keys: jwks.keys.map(({ state, ...key }) => key) },
  clients: [
    {
      client_id: 'demo-spa',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      scope: `${userScope} api:read`,
      dpop_bound_access_tokens: true,
      id_token_signed_response_alg: 'ES256',
    },
    {
      client_id: 'demo-service',
      client_secret: 'demo-service-secret-0123456789abcdef',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api:read api:write',
    },
    {
      client_id: 'demo-resource-server',
      client_secret: 'demo-rs-secret-0123456789abcdef01234',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
  ],
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api:read', 'api:write'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => users[id] ?? { sub: id } }),
  cookies: { keys: ['bench-peer-cookie-key-0123456789abcdef'] },
  features: {
    devInteractions: { enabled: true },
    dPoP: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    userinfo: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // client_credentials without a resource parameter gets the API (its docs: JWT access
      // tokens need a resource server); the code flow's tokens stay for userinfo.
      defaultResource: async (ctx, client, oneOf) =>
        oneOf ?? (ctx.oidc.params?.grant_type === 'client_credentials' ? apiResource : undefined),
      useGrantedResource: async () => false,
      getResourceServerInfo: async (_ctx, resource) => {
        if (resource !== apiResource) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'api:read api:write',
          audience: apiResource,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
  // One grant per authorization, as dpop-oidc makes one per code, without a consent page on
  // each (its docs' example for first-party clients); one grant holding every benchmark token
  // would make the memory adapter walk thousands of members on each write.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(userScope);
    await grant.save();
    return grant;
  },
  // dpop-oidc issues a refresh token for offline_access without prompt=consent and rotates it
  // on every use, independent of the sign-in session.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: 600,
    ClientCredentials: 600,
    AuthorizationCode: 600,
    IdToken: 600,
    RefreshToken: 14 * 86_400,
    Grant: 14 * 86_400,
    Session: 8 * 3600,
    Interaction: 600,
  },
});

const server = createServer(provider.callback());
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, issuer, pid: process.pid })}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
