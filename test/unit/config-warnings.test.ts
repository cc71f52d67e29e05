import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { configWarnings, readDemoCredentials } from '../../src/config/warnings.js';
import { hashClientSecret } from '../../src/users/secret-hash.js';

const demo = JSON.parse(readFileSync('config/default.json', 'utf8')) as ConfigInput;
const ownSecretHash = hashClientSecret('own-secret-0123456789abcdef0123456789');
const warningsOf = (input: ConfigInput, env: Record<string, string> = {}) => configWarnings(parseConfig(input), env);

describe('start-up warnings: none for the demo as shipped', () => {
  it('gives none for config/default.json on its plain-http loopback issuer', () => {
    expect(configWarnings(loadConfig({ CONFIG_FILE: 'config/default.json' }), {})).toEqual([]);
  });

  it.each(['http://localhost:8080/oidc', 'http://127.0.0.1:8080/oidc', 'http://[::1]:8080/oidc'])(
    'gives none for the demo on %s',
    (issuer) => {
      expect(warningsOf({ ...demo, issuer })).toEqual([]);
    },
  );

  it('gives none for an https issuer with clients and users of their own, listening on its port', () => {
    expect(
      warningsOf({
        issuer: 'https://id.example.com/oidc',
        http: { port: 443 },
        clients: [{ client_id: 'api', client_secret_hash: ownSecretHash }],
      }),
    ).toEqual([]);
  });

  it('reads the demo credentials from config/default.json, not from a list in the code', () => {
    expect(readDemoCredentials().clients.map(({ client_id }) => client_id)).toEqual(['demo-service', 'demo-resource-server']);
    expect(readDemoCredentials().users.map(({ username }) => username)).toEqual(['alice']);
    expect(readDemoCredentials('/nonexistent/default.json')).toEqual({ clients: [], users: [] });
  });
});

describe('start-up warning: a plain-http issuer on a host other than loopback', () => {
  it('warns once for http://id.example.com', () => {
    expect(warningsOf({ issuer: 'http://id.example.com/oidc', http: { port: 80 } })).toEqual([
      'issuer http://id.example.com/oidc is plain http on a host other than loopback: codes, tokens and passwords cross the network in clear; use https (a TLS-terminating proxy in front)',
    ]);
  });

  it('warns for a LAN address too', () => {
    expect(warningsOf({ issuer: 'http://192.168.1.20:8080/oidc' })).toEqual([
      expect.stringMatching(/^issuer http:\/\/192\.168\.1\.20:8080\/oidc is plain http/),
    ]);
  });
});

describe('start-up warning: a demo secret or the demo password with an issuer other than loopback', () => {
  const exposed = { issuer: 'https://id.example.com/oidc', http: { port: 443 } };

  it('warns for each demo client secret and for alice when the demo config is served at id.example.com', () => {
    expect(warningsOf({ ...demo, ...exposed })).toEqual([
      'client demo-service has the demo secret of config/default.json, which anyone can read, with the issuer https://id.example.com/oidc: give it a secret of its own (npm run hash-secret)',
      'client demo-resource-server has the demo secret of config/default.json, which anyone can read, with the issuer https://id.example.com/oidc: give it a secret of its own (npm run hash-secret)',
      'user alice has the demo password of config/default.json, which anyone can read, with the issuer https://id.example.com/oidc: set a password of its own (npm run hash-secret -- password)',
    ]);
  });

  it('recognises a demo secret and the demo password under other names', () => {
    const demoService = demo.clients!.find(({ client_id }) => client_id === 'demo-service');
    const [alice] = demo.users!;
    const warnings = warningsOf({
      ...exposed,
      clients: [{ ...demoService!, client_id: 'billing' }],
      users: [{ ...alice!, sub: 'u-1', username: 'bob' }],
    });
    expect(warnings).toEqual([
      expect.stringMatching(/^client billing has the demo secret of config\/default\.json \(client demo-service\), which anyone can read/),
      expect.stringMatching(/^user bob has the demo password of config\/default\.json \(user alice\), which anyone can read/),
    ]);
  });
});

describe('start-up warning: PORT differs from the issuer port and no proxy is configured', () => {
  it('warns for PORT=18302 alone, which still advertises localhost:8080', () => {
    expect(configWarnings(loadConfig({ CONFIG_FILE: 'config/default.json', PORT: '18302' }), { PORT: '18302' })).toEqual([
      'PORT=18302 differs from the port of the issuer http://localhost:8080/oidc (8080) and no proxy is configured (http.trustProxy false): endpoint URLs and every expected DPoP htu name port 8080, so a proof for port 18302 fails; set ISSUER to the URL clients use, or http.trustProxy to the proxy that forwards to this port',
    ]);
  });

  it('names http.port when the file sets it, and counts an https issuer without a port as 443', () => {
    expect(warningsOf({ issuer: 'https://id.example.com/oidc', http: { port: 8443 } })).toEqual([
      expect.stringMatching(
        /^http\.port 8443 differs from the port of the issuer https:\/\/id\.example\.com\/oidc \(443\) and no proxy is configured/,
      ),
    ]);
  });

  it('gives none with a proxy configured, with matching ports, or on a random port', () => {
    expect(
      configWarnings(loadConfig({ CONFIG_FILE: 'config/default.json', PORT: '18302', TRUST_PROXY: '127.0.0.1' }), { PORT: '18302' }),
    ).toEqual([]);
    expect(
      configWarnings(loadConfig({ CONFIG_FILE: 'config/default.json', PORT: '18302', ISSUER: 'http://localhost:18302/oidc' }), {
        PORT: '18302',
      }),
    ).toEqual([]);
    expect(warningsOf({ http: { port: 0 } })).toEqual([]);
  });
});
