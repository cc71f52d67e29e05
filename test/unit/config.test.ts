import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, type JsonSchemaNode } from '../../src/config/json-schema.js';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { makeTestApp } from '../helpers/app.js';
import { Browser, redirectParams } from '../helpers/browser.js';
import { codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';

function configFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'dpop-oidc-config-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('configuration', () => {
  it('loads the shipped demo config with its defaults', () => {
    const config = loadConfig({ CONFIG_FILE: 'config/default.json' });
    expect(config.issuer).toBe('http://localhost:8080/oidc');
    expect(config.http.port).toBe(8080);
    expect(config.dpop.maxAgeSeconds).toBe(60);
    expect(config.clients.map((client) => client.client_id)).toContain('demo-service');
  });

  it('applies environment overrides for PORT, ISSUER, LOG_LEVEL and DATA_DIR', () => {
    const config = loadConfig({
      CONFIG_FILE: 'config/default.json',
      PORT: '9090',
      ISSUER: 'https://id.example.com/oidc/',
      LOG_LEVEL: 'warn',
      DATA_DIR: '/tmp/data',
    });
    expect(config.http.port).toBe(9090);
    expect(config.issuer).toBe('https://id.example.com/oidc');
    expect(config.logLevel).toBe('warn');
    expect(config.dataDir).toBe('/tmp/data');
  });

  it('stops with the path of the offending field', () => {
    const file = configFile({ clients: [{ client_id: 'x', token_endpoint_auth_method: 'client_secret_basic' }] });
    expect(() => loadConfig({ CONFIG_FILE: file })).toThrow(ConfigError);
    expect(() => loadConfig({ CONFIG_FILE: file })).toThrow(/clients\.0\.client_secret_hash/);
  });

  it('refuses an issuer with a query, a bad PORT, and a duplicate client_id', () => {
    expect(() => parseConfig({ issuer: 'https://id.example.com/oidc?x=1' })).toThrow(/issuer/);
    expect(() => loadConfig({ CONFIG_FILE: 'config/default.json', PORT: 'eighty' })).toThrow(/PORT \(http\.port\)/);
    const client = { client_id: 'a', client_secret_hash: 'sha256$x$y' };
    expect(() => parseConfig({ clients: [client, client] })).toThrow(/clients\.1\.client_id: duplicate/);
  });

  it('refuses a DPoP algorithm that is not asymmetric', () => {
    expect(() => parseConfig({ dpop: { algs: ['HS256'] } })).toThrow(/dpop\.algs\.0/);
  });

  it('names a missing file', () => {
    expect(() => loadConfig({ CONFIG_FILE: '/nonexistent/config.json' })).toThrow(/cannot read \/nonexistent\/config.json/);
  });
});

/** The ConfigError a config with one public client shaped by `client` gives, or undefined when it loads. */
function clientConfigError(client: Record<string, unknown>): ConfigError | undefined {
  try {
    parseConfig({
      clients: [
        {
          client_id: 'app',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          redirect_uris: ['https://app.example.com/cb'],
          ...client,
        },
      ],
    });
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

describe('redirect targets are https, http on loopback, or a private-use scheme (RFC 8252 §7.1, §7.3; RFC 9700 §2.6)', () => {
  const refused: Array<[string, RegExp]> = [
    ['javascript:alert(document.domain)', /the javascript: scheme is never allowed/],
    ['data:text/html,<script>alert(1)</script>', /the data: scheme is never allowed/],
    ['file:///etc/passwd', /the file: scheme is never allowed/],
    ['vbscript:msgbox(1)', /the vbscript: scheme is never allowed/],
    ['blob:https://app.example.com/0b1f', /the blob: scheme is never allowed/],
    ['myapp:/callback', /the myapp: scheme is not allowed/],
    ['http://app.example.com/cb', /http is allowed only on a loopback host/],
    ['http://127.0.0.1.example.com/cb', /http is allowed only on a loopback host/],
    ['https://app.example.com/cb#fragment', /must not have a fragment/],
    ['https://app.example.com/cb#', /must not have a fragment/],
    ['https://app.example.com@evil.example/cb', /must not have user information/],
    ['https://@app.example.com/cb', /must not have user information/],
    ['/relative/callback', /must be an absolute URI/],
  ];

  for (const field of ['redirect_uris', 'post_logout_redirect_uris'] as const) {
    it.each(refused)(`refuses ${field} entry %s with a ConfigError naming clients.0.${field}.1`, (uri, message) => {
      const error = clientConfigError({ [field]: ['https://app.example.com/cb', uri] });
      expect(error).toBeInstanceOf(ConfigError);
      expect(error!.message).toMatch(new RegExp(`^invalid configuration in config:\\n  - clients\\.0\\.${field}\\.1: `));
      expect(error!.message).toMatch(message);
      expect(error!.message).not.toMatch(/\n\s+at /);
    });
  }

  it.each([
    'https://app.example.com/cb',
    'http://localhost:5173/callback',
    'http://127.0.0.1:8400/cb',
    'http://[::1]:8400/cb',
    'com.example.app:/oauth2redirect/example-provider',
    'com.example.app://callback',
  ])('accepts %s as a redirect_uri and a post_logout_redirect_uri, kept as written', (uri) => {
    const config = parseConfig({
      clients: [
        {
          client_id: 'app',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          redirect_uris: [uri],
          post_logout_redirect_uris: [uri],
        },
      ],
    });
    expect(config.clients[0]!.redirect_uris).toEqual([uri]);
    expect(config.clients[0]!.post_logout_redirect_uris).toEqual([uri]);
  });

  it('names the field path through loadConfig too', () => {
    const file = configFile({
      clients: [
        { client_id: 'x', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: ['javascript:alert(1)'] },
      ],
    });
    expect(() => loadConfig({ CONFIG_FILE: file })).toThrow(ConfigError);
    expect(() => loadConfig({ CONFIG_FILE: file })).toThrow(/clients\.0\.redirect_uris\.0: the javascript: scheme is never allowed/);
  });

  it('sends the browser back to a private-use redirect URI and exchanges its code there', async () => {
    const native = 'com.example.app:/oauth2redirect';
    const t = await makeTestApp({
      clients: [
        {
          client_id: 'native',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          redirect_uris: [native],
          scope: 'openid profile',
        },
      ],
    });
    try {
      const { redirect, code, verifier } = await signInAndConsent(new Browser(t.app), {
        clientId: 'native',
        redirectUri: native,
        scope: 'openid profile',
      });
      expect(redirect.statusCode).toBe(303);
      expect(String(redirect.headers.location).startsWith(`${native}?code=`)).toBe(true);
      expect(redirectParams(redirect).get('state')).toBe('state-123');
      const token = await tokenRequest(t, codeExchange(code, verifier, 'native', native));
      expect(token.statusCode).toBe(200);
      expect(token.json()).toMatchObject({ token_type: 'Bearer' });
    } finally {
      await t.app.close();
    }
  });
});

describe('allowed_cors_origins are origins only', () => {
  it.each([
    'https://app.example.com/',
    'https://app.example.com/spa',
    'https://app.example.com?x=1',
    'HTTPS://APP.example.com',
    'null',
    'com.example.app:',
    'ftp://app.example.com',
  ])('refuses %s with a ConfigError naming clients.0.allowed_cors_origins.0', (origin) => {
    const error = clientConfigError({ allowed_cors_origins: [origin] });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(/clients\.0\.allowed_cors_origins\.0: must be an origin, scheme:\/\/host\[:port\]/);
  });

  it('accepts scheme://host[:port]', () => {
    expect(
      clientConfigError({ allowed_cors_origins: ['https://app.example.com', 'http://localhost:5173', 'https://[::1]:8443'] }),
    ).toBeUndefined();
  });
});

describe('clientAuth limits', () => {
  it('default to 10 failures per client_id and 30 per address in a 60 s window, 100 000 keys tracked', () => {
    expect(parseConfig({}).clientAuth).toEqual({
      maxFailuresPerClient: 10,
      maxFailuresPerAddress: 30,
      windowSeconds: 60,
      maxTrackedKeys: 100_000,
    });
  });

  it('refuses a limit below 1 with the path of the field', () => {
    expect(() => parseConfig({ clientAuth: { maxFailuresPerClient: 0 } })).toThrow(/clientAuth\.maxFailuresPerClient/);
  });
});

/** The message of the ConfigError `load` throws (the test fails if it throws nothing). */
function configErrorOf(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const demoConfig = JSON.parse(readFileSync('config/default.json', 'utf8')) as Record<string, unknown>;

describe('unknown keys are refused everywhere, with their path', () => {
  it('refuses an unknown top-level key, and suggests the key it most likely means', () => {
    expect(configErrorOf(() => parseConfig({ isuer: 'https://id.example.com' }))).toBe(
      'invalid configuration in config:\n  - isuer: unknown key (did you mean issuer?)',
    );
  });

  it('refuses an unknown key in a section', () => {
    expect(configErrorOf(() => parseConfig({ dpop: { requireNonse: true } }))).toBe(
      'invalid configuration in config:\n  - dpop.requireNonse: unknown key (did you mean requireNonce?)',
    );
  });

  it('refuses the client key dpop_bound_access_token (a typo that used to drop the DPoP requirement silently)', () => {
    const file = configFile({
      clients: [
        {
          client_id: 'spa',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          redirect_uris: ['https://app.example.com/cb'],
        },
        { client_id: 'api', client_secret_hash: 'sha256$x$y', dpop_bound_access_token: true },
      ],
    });
    expect(configErrorOf(() => loadConfig({ CONFIG_FILE: file }))).toBe(
      `invalid configuration in ${file}:\n  - clients.1.dpop_bound_access_token: unknown key (did you mean dpop_bound_access_tokens?)`,
    );
  });

  it("refuses an unknown key in a client's jwks", () => {
    const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }], kyes: [] };
    expect(configErrorOf(() => parseConfig({ clients: [{ client_id: 'c', token_endpoint_auth_method: 'private_key_jwt', jwks }] }))).toBe(
      'invalid configuration in config:\n  - clients.0.jwks.kyes: unknown key (did you mean keys?)',
    );
  });

  it('refuses an unknown user key, and one in the claims', () => {
    const [alice] = demoConfig.users as Array<Record<string, unknown>>;
    expect(configErrorOf(() => parseConfig({ users: [{ ...alice, password: 'alice' }] }))).toBe(
      'invalid configuration in config:\n  - users.0.password: unknown key',
    );
    expect(configErrorOf(() => parseConfig({ users: [{ ...alice, claims: { emial: 'a@example.com' } }] }))).toBe(
      'invalid configuration in config:\n  - users.0.claims.emial: unknown key (did you mean email?)',
    );
  });

  it('keeps loading every config file of the repository', () => {
    expect(loadConfig({ CONFIG_FILE: 'config/default.json' }).clients).toHaveLength(3);
    expect(loadConfig({ CONFIG_FILE: 'docs/deploy/config.json' }).clients.map(({ client_id }) => client_id)).toEqual(['example-spa']);
  });
});

describe('environment values are parsed strictly, and an error names the variable', () => {
  const load = (env: Record<string, string>) => loadConfig({ CONFIG_FILE: 'config/default.json', ...env });

  it.each(['yes', 'no', 'TRUE', 'on', ' true'])('refuses DPOP_REQUIRE_NONCE=%j instead of reading it as false', (value) => {
    expect(configErrorOf(() => load({ DPOP_REQUIRE_NONCE: value }))).toBe(
      `invalid configuration in the environment:\n  - DPOP_REQUIRE_NONCE (dpop.requireNonce): expected true, false, 1 or 0, got ${JSON.stringify(value)}`,
    );
  });

  it('refuses REDIS_ALLOW_EVICTION=on', () => {
    expect(configErrorOf(() => load({ REDIS_ALLOW_EVICTION: 'on' }))).toBe(
      'invalid configuration in the environment:\n  - REDIS_ALLOW_EVICTION (store.allowEvictingRedis): expected true, false, 1 or 0, got "on"',
    );
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads DPOP_REQUIRE_NONCE=%s as %s', (value, expected) => {
    expect(load({ DPOP_REQUIRE_NONCE: value }).dpop.requireNonce).toBe(expected);
  });

  it.each(['1.5', '8080abc', '1e3', '0x50', ' 80', 'eighty'])('refuses PORT=%j as not an integer', (value) => {
    expect(configErrorOf(() => load({ PORT: value }))).toBe(
      `invalid configuration in the environment:\n  - PORT (http.port): expected an integer, got ${JSON.stringify(value)}`,
    );
  });

  it('refuses an integer out of range, naming the variable', () => {
    expect(configErrorOf(() => load({ PORT: '70000' }))).toMatch(
      /^invalid configuration in the environment:\n {2}- PORT \(http\.port\): .*65535$/,
    );
    expect(configErrorOf(() => load({ MAX_CONNECTIONS: '0' }))).toMatch(
      /^invalid configuration in the environment:\n {2}- MAX_CONNECTIONS \(http\.maxConnections\): .*1$/,
    );
  });

  it('blames a value from the environment on its variable, not on the file, and never echoes a secret', () => {
    const secret = 'short-secret-of-20ch';
    const message = configErrorOf(() => load({ DPOP_NONCE_SECRET: secret, STORE: 'mongo' }));
    expect(message).toMatch(
      /^invalid configuration in the environment:\n {2}- DPOP_NONCE_SECRET \(dpop\.nonceSecret\): .*32.*\n {2}- STORE \(store\.type\): .*"memory"\|"redis"$/,
    );
    expect(message).not.toContain('config/default.json');
    expect(message).not.toContain(secret);
  });

  it('names the file and the environment when both are wrong', () => {
    const file = configFile({ dpop: { maxAgeSeconds: 0 } });
    expect(configErrorOf(() => loadConfig({ CONFIG_FILE: file, DPOP_REQUIRE_NONCE: 'maybe' }))).toMatch(
      new RegExp(
        `^invalid configuration in ${file} and the environment:\\n  - dpop\\.maxAgeSeconds: .*\\n  - DPOP_REQUIRE_NONCE \\(dpop\\.requireNonce\\): expected true, false, 1 or 0, got "maybe"$`,
      ),
    );
  });

  it('refuses a TRUST_PROXY that is neither a boolean nor proxy addresses', () => {
    expect(configErrorOf(() => load({ TRUST_PROXY: 'yes' }))).toBe(
      'invalid configuration in the environment:\n  - TRUST_PROXY (http.trustProxy): must be true, false, or comma-separated proxy addresses or CIDRs (e.g. 10.0.0.0/8, loopback)',
    );
    expect(load({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.1, ::1/128, loopback' }).http.trustProxy).toBe(
      '10.0.0.0/8, 192.168.1.1, ::1/128, loopback',
    );
    expect(load({ TRUST_PROXY: 'true' }).http.trustProxy).toBe(true);
  });

  it('takes numbers in the file as JSON numbers only', () => {
    expect(configErrorOf(() => parseConfig({ http: { port: '8080' } }))).toMatch(
      /^invalid configuration in config:\n {2}- http\.port: .*number.*string/,
    );
  });
});

/** Each field's default as the JSON Schema of the config states it, by path (objects only, not list items). */
function declaredDefaults(node: JsonSchemaNode, path: string[] = []): Array<[string[], unknown]> {
  return Object.entries(node.properties ?? {}).flatMap(([key, child]): Array<[string[], unknown]> => {
    if (child.properties) return declaredDefaults(child, [...path, key]);
    return child.default === undefined ? [] : [[[...path, key], child.default]];
  });
}

const valueAt = (value: unknown, path: string[]): unknown =>
  path.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], value);

describe('a section left out, or given in part, gets every default of its fields', () => {
  it('gives every default of every section for an empty config', () => {
    expect(parseConfig({})).toEqual({
      issuer: 'http://localhost:8080/oidc',
      http: {
        port: 8080,
        host: '0.0.0.0',
        bodyLimit: 65_536,
        trustProxy: false,
        loginAttemptsPerMinute: 10,
        authorizeRequestsPerMinute: 120,
        headersTimeoutMs: 15_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 72_000,
        maxConnectionsPerAddress: 128,
        maxConnections: 10_000,
        shutdownDrainMs: 25_000,
      },
      logLevel: 'info',
      metrics: { enabled: true, host: '127.0.0.1' },
      dataDir: './data',
      keys: { algorithm: 'ES256' },
      accessToken: { ttlSeconds: 600 },
      dpop: {
        algs: ['ES256', 'ES384', 'PS256', 'EdDSA', 'Ed25519'],
        maxAgeSeconds: 60,
        maxFutureSeconds: 5,
        jtiMaxLength: 256,
        requireNonce: false,
        nonceStepSeconds: 60,
        replayCacheMaxEntries: 1_000_000,
        replayCacheMaxEntriesPerOwner: 100_000,
        keyCacheMaxEntries: 1000,
      },
      authorizationCode: { ttlSeconds: 60 },
      refreshToken: { ttlSeconds: 14 * 86_400, reuseGraceSeconds: 60, maxLiveAccessTokensPerGrant: 32 },
      idToken: { ttlSeconds: 600 },
      session: { ttlSeconds: 8 * 3600, interactionTtlSeconds: 600, consentTtlSeconds: 365 * 86_400 },
      store: {
        type: 'memory',
        redisUrl: 'redis://127.0.0.1:6379',
        keyPrefix: 'dpop-oidc:',
        memoryMaxEntries: 1_000_000,
        allowEvictingRedis: false,
      },
      clientAuth: { maxFailuresPerClient: 10, maxFailuresPerAddress: 30, windowSeconds: 60, maxTrackedKeys: 100_000 },
      rateLimits: { introspectionPerClientPerMinute: 30_000, revocationPerClientPerMinute: 600, memoryMaxTrackedKeys: 100_000 },
      clients: [],
      users: [],
    });
  });

  // Generic over the schema, so a section added later (and a field added to one) is covered.
  it('gives, for a config without the section, each default the schema declares', () => {
    const defaults = declaredDefaults(configJsonSchema());
    expect(defaults.length).toBeGreaterThan(40);
    const parsed = parseConfig({});
    for (const [path, value] of defaults) expect(valueAt(parsed, path), path.join('.')).toEqual(value);
  });

  it('gives the fields a partial section leaves out their defaults', () => {
    const defaults = parseConfig({});
    expect(parseConfig({ http: { port: 9000 } }).http).toEqual({ ...defaults.http, port: 9000 });
    expect(parseConfig({ dpop: { requireNonce: true } }).dpop).toEqual({ ...defaults.dpop, requireNonce: true });
    expect(parseConfig({ refreshToken: { reuseGraceSeconds: 0 } }).refreshToken).toEqual({
      ...defaults.refreshToken,
      reuseGraceSeconds: 0,
    });
    for (const [section, value] of Object.entries(defaults)) {
      if (typeof value === 'object' && !Array.isArray(value)) expect(parseConfig({ [section]: {} }), section).toEqual(defaults);
    }
  });
});
