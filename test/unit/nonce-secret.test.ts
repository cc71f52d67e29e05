import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { loadNonceSecret, loadNonceSecrets, rotateNonceSecretFile } from '../../src/dpop/nonce-secret.js';
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

describe('the nonce secret file holds the current secret and, after a rotation, the previous one', () => {
  it('rotateNonceSecretFile: a new current secret on line 1, the former current on line 2, the one before dropped', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'dpop-oidc-nonce-')), 'data');
    const first = loadNonceSecrets({ dataDir });
    expect(first.previous).toBeUndefined();
    rotateNonceSecretFile(dataDir);
    const second = loadNonceSecrets({ dataDir });
    expect(second.previous!.equals(first.current)).toBe(true);
    expect(second.current.equals(first.current)).toBe(false);
    expect(second.current).toHaveLength(32);
    rotateNonceSecretFile(dataDir);
    const third = loadNonceSecrets({ dataDir });
    expect(third.previous!.equals(second.current)).toBe(true);
    expect(readFileSync(join(dataDir, 'nonce-secret'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(statSync(join(dataDir, 'nonce-secret')).mode & 0o777).toBe(0o600);
    expect(loadNonceSecret({ dataDir }).equals(third.current)).toBe(true);
  });

  it('refuses a short previous secret and a third line, naming the file', () => {
    const good = Buffer.alloc(32, 1).toString('base64url');
    const short = dataDirWithSecretFile(`${good}\n${Buffer.alloc(8, 2).toString('base64url')}\n`);
    expect(() => loadNonceSecrets({ dataDir: short.dataDir })).toThrow(
      `previous nonce secret in ${short.file} (line 2) is 8 bytes, under the 32 required`,
    );
    const three = dataDirWithSecretFile(`${good}\n${good}\n${good}`);
    expect(() => loadNonceSecrets({ dataDir: three.dataDir })).toThrow(
      `nonce secret file ${three.file} has 3 lines: the current secret, and at most one previous secret`,
    );
  });

  it('a reload (create: false) refuses a missing file instead of generating a secret', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'dpop-oidc-nonce-')), 'data');
    expect(() => loadNonceSecrets({ dataDir, create: false })).toThrow(`nonce secret file ${join(dataDir, 'nonce-secret')} is missing`);
  });

  it('configured: dpop.previousNonceSecret is accepted beside dpop.nonceSecret, refused without it or under 32 bytes', () => {
    const secrets = loadNonceSecrets({ nonceSecret: 'n'.repeat(32), previousNonceSecret: 'p'.repeat(32), dataDir: '/nonexistent' });
    expect(secrets.current.toString()).toBe('n'.repeat(32));
    expect(secrets.previous!.toString()).toBe('p'.repeat(32));
    expect(() => loadNonceSecrets({ previousNonceSecret: 'p'.repeat(32), dataDir: '/nonexistent' })).toThrow(
      'dpop.previousNonceSecret is set without dpop.nonceSecret: set both, or neither (the data directory then holds them)',
    );
    expect(() => loadNonceSecrets({ nonceSecret: 'n'.repeat(32), previousNonceSecret: 'short', dataDir: '/nonexistent' })).toThrow(
      'nonce secret from dpop.previousNonceSecret (config file or DPOP_PREVIOUS_NONCE_SECRET) is 5 bytes, under the 32 required',
    );
  });

  it('the loader reads DPOP_PREVIOUS_NONCE_SECRET into dpop.previousNonceSecret', () => {
    const configFile = join(mkdtempSync(join(tmpdir(), 'dpop-oidc-nonce-')), 'config.json');
    writeFileSync(configFile, '{}');
    expect(
      loadConfig({ CONFIG_FILE: configFile, DPOP_NONCE_SECRET: 'n'.repeat(32), DPOP_PREVIOUS_NONCE_SECRET: 'p'.repeat(32) }).dpop
        .previousNonceSecret,
    ).toBe('p'.repeat(32));
  });
});
