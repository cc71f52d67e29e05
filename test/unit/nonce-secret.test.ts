import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { loadNonceSecret } from '../../src/dpop/nonce-secret.js';
import { testSigningKeys } from '../helpers/app.js';

/** A data directory whose nonce-secret file holds `content`, as an interrupted first start may leave it. */
function dataDirWithSecretFile(content: string): { dataDir: string; file: string } {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'dpop-oidc-nonce-')), 'data');
  mkdirSync(dataDir);
  const file = join(dataDir, 'nonce-secret');
  writeFileSync(file, content, { mode: 0o600 });
  return { dataDir, file };
}

describe('a nonce secret under 32 bytes stops the start (an empty HMAC key lets clients compute nonces)', () => {
  it('refuses an empty nonce-secret file, naming the file and the fix', () => {
    const { dataDir, file } = dataDirWithSecretFile('');
    expect(() => loadNonceSecret({ dataDir })).toThrow(
      `nonce secret in ${file} is 0 bytes, under the 32 required (left by an interrupted first start?): delete the file to generate a new one, or set dpop.nonceSecret / DPOP_NONCE_SECRET`,
    );
  });

  it('refuses a short nonce-secret file (16 bytes)', () => {
    const { dataDir } = dataDirWithSecretFile(Buffer.alloc(16, 7).toString('base64url'));
    expect(() => loadNonceSecret({ dataDir })).toThrow(/is 16 bytes, under the 32 required/);
  });

  it('refuses a nonce-secret file that is not base64url rather than reading what it can of it', () => {
    const { dataDir } = dataDirWithSecretFile(`${'A'.repeat(43)}!`);
    expect(() => loadNonceSecret({ dataDir })).toThrow(/nonce-secret is not base64url, under the 32 required/);
  });

  it('refuses a configured secret under 32 bytes, naming the setting', () => {
    expect(() => loadNonceSecret({ nonceSecret: 'short', dataDir: '/nonexistent' })).toThrow(
      'nonce secret from dpop.nonceSecret (config file or DPOP_NONCE_SECRET) is 5 bytes, under the 32 required: set a longer one (openssl rand -base64 48)',
    );
    expect(() => loadNonceSecret({ nonceSecret: '', dataDir: '/nonexistent' })).toThrow(/is 0 bytes/);
  });

  it('accepts a kept file of 32 bytes and writes a generated one with mode 0600', () => {
    const secret = Buffer.alloc(32, 9);
    const { dataDir } = dataDirWithSecretFile(`${secret.toString('base64url')}\n`);
    expect(loadNonceSecret({ dataDir }).equals(secret)).toBe(true);

    const fresh = join(mkdtempSync(join(tmpdir(), 'dpop-oidc-nonce-')), 'data');
    expect(loadNonceSecret({ dataDir: fresh })).toHaveLength(32);
    expect(statSync(join(fresh, 'nonce-secret')).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(join(fresh, 'nonce-secret'), 'utf8'), 'base64url')).toHaveLength(32);
  });

  it('buildApp refuses to start on the empty file left in DATA_DIR', async () => {
    const { dataDir, file } = dataDirWithSecretFile('');
    const configFile = join(dataDir, '..', 'config.json');
    writeFileSync(configFile, JSON.stringify({ issuer: 'https://op.example.test/oidc', logLevel: 'silent' }));
    const config = loadConfig({ CONFIG_FILE: configFile, DATA_DIR: dataDir });
    expect(config.dataDir).toBe(dataDir);
    await expect(buildApp({ config, signingKeys: await testSigningKeys() })).rejects.toThrow(`nonce secret in ${file} is 0 bytes`);
  });

  it('the loader refuses a DPOP_NONCE_SECRET under 32 characters, naming dpop.nonceSecret', () => {
    const configFile = join(mkdtempSync(join(tmpdir(), 'dpop-oidc-nonce-')), 'config.json');
    writeFileSync(configFile, '{}');
    expect(() => loadConfig({ CONFIG_FILE: configFile, DPOP_NONCE_SECRET: 'x'.repeat(31) })).toThrow(/dpop\.nonceSecret/);
  });
});
