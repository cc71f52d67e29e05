import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';

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
