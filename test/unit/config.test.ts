import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
    expect(() => loadConfig({ CONFIG_FILE: 'config/default.json', PORT: 'eighty' })).toThrow(/http\.port/);
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
      clients: [{ client_id: 'app', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: ['https://app.example.com/cb'], ...client }],
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
      clients: [{ client_id: 'app', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: [uri], post_logout_redirect_uris: [uri] }],
    });
    expect(config.clients[0]!.redirect_uris).toEqual([uri]);
    expect(config.clients[0]!.post_logout_redirect_uris).toEqual([uri]);
  });

  it('names the field path through loadConfig too', () => {
    const file = configFile({ clients: [{ client_id: 'x', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: ['javascript:alert(1)'] }] });
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
      const { redirect, code, verifier } = await signInAndConsent(new Browser(t.app), { clientId: 'native', redirectUri: native, scope: 'openid profile' });
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
  it.each(['https://app.example.com/', 'https://app.example.com/spa', 'https://app.example.com?x=1', 'HTTPS://APP.example.com', 'null', 'com.example.app:', 'ftp://app.example.com'])(
    'refuses %s with a ConfigError naming clients.0.allowed_cors_origins.0',
    (origin) => {
      const error = clientConfigError({ allowed_cors_origins: [origin] });
      expect(error).toBeInstanceOf(ConfigError);
      expect(error!.message).toMatch(/clients\.0\.allowed_cors_origins\.0: must be an origin, scheme:\/\/host\[:port\]/);
    },
  );

  it('accepts scheme://host[:port]', () => {
    expect(clientConfigError({ allowed_cors_origins: ['https://app.example.com', 'http://localhost:5173', 'https://[::1]:8443'] })).toBeUndefined();
  });
});

describe('clientAuth limits', () => {
  it('default to 10 failures per client_id and 30 per address in a 60 s window, 100 000 keys tracked', () => {
    expect(parseConfig({}).clientAuth).toEqual({ maxFailuresPerClient: 10, maxFailuresPerAddress: 30, windowSeconds: 60, maxTrackedKeys: 100_000 });
  });

  it('refuses a limit below 1 with the path of the field', () => {
    expect(() => parseConfig({ clientAuth: { maxFailuresPerClient: 0 } })).toThrow(/clientAuth\.maxFailuresPerClient/);
  });
});
