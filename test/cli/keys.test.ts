import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateSigningJwks, signingKeysFromJwks } from '../../src/tokens/keys.js';
import { runKeysCommand } from '../helpers/key-server-process.js';

/** `npm run keys` as a real process, reading CONFIG_FILE, DATA_DIR and JWKS_FILE as the server does. */
function workspace(config: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'dpop-oidc-keys-cli-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const env = { CONFIG_FILE: configFile, DATA_DIR: join(dir, 'data') };
  return { dir, env, keys: (args: string[], extra: Record<string, string> = {}) => runKeysCommand(args, { ...env, ...extra }) };
}

type KeyFile = { keys: Array<Record<string, unknown>>; [member: string]: unknown };
const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as KeyFile;

describe('npm run keys takes a kid that begins with a dash (base64url) as a kid, not an option', () => {
  it('rotate -KID and retire -KID act on those keys', async () => {
    const { dir, keys } = workspace();
    const file = join(dir, 'dash-jwks.json');
    const {
      keys: [first],
    } = await generateSigningJwks('ES256');
    const {
      keys: [second],
    } = await generateSigningJwks('ES256');
    writeFileSync(
      file,
      JSON.stringify({
        keys: [
          { ...first, kid: '-old', state: 'active' },
          { ...second, kid: '-new', state: 'published' },
        ],
      }),
    );
    const env = { JWKS_FILE: file };
    expect(await keys(['rotate', '-new'], env)).toMatchObject({ code: 0, stderr: '' });
    expect(await keys(['retire', '-old'], env)).toMatchObject({
      code: 0,
      stdout: 'retired -old: reload every server (SIGHUP); tokens it signed no longer verify\n',
    });
    expect(read(file).keys.map((key) => [key.kid, key.state])).toEqual([['-new', 'active']]);
  }, 60_000);
});

describe('npm run keys on a JWKS_FILE written by hand (no states: the first key signs)', () => {
  it('generate appends a published key and keeps the file a JWK set; rotate activates it; retire refuses the active key and removes the old one', async () => {
    const { dir, keys } = workspace();
    const file = join(dir, 'own-jwks.json');
    const {
      keys: [mine],
    } = await generateSigningJwks('ES256');
    const { kid: _kid, ...withoutKid } = mine!;
    const thumbprint = await calculateJwkThumbprint(withoutKid, 'sha256');
    writeFileSync(file, JSON.stringify({ keys: [withoutKid], comment: 'kept' }));
    const env = { JWKS_FILE: file };

    expect(await keys(['list'], env)).toEqual({ code: 0, stdout: `${thumbprint} ES256 active\n`, stderr: '' });
    const generated = await keys(['generate', '--alg', 'RS256'], env);
    expect(generated.code).toBe(0);
    const newKid = /^generated RS256 key (\S+), published: /.exec(generated.stdout)?.[1];
    const afterGenerate = read(file);
    expect(afterGenerate.comment).toBe('kept');
    expect(afterGenerate.keys.map((key) => [key.kid, key.alg, key.state])).toEqual([
      [thumbprint, 'ES256', 'active'],
      [newKid, 'RS256', 'published'],
    ]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((await signingKeysFromJwks(afterGenerate)).current.kid).toBe(thumbprint);

    expect(await keys(['rotate'], env)).toMatchObject({
      code: 0,
      stdout: `${newKid} is active, ${thumbprint} stays published: reload every server (SIGHUP); retire ${thumbprint} once the tokens it signed have expired\n`,
    });
    expect((await signingKeysFromJwks(read(file))).current.kid).toBe(newKid);
    expect(await keys(['list'], env)).toMatchObject({ stdout: `${thumbprint} ES256 published\n${newKid} RS256 active\n` });
    expect(await keys(['rotate'], env)).toEqual({
      code: 1,
      stdout: '',
      stderr: `signing key set ${file}: no published key newer than the active key ${newKid}; run generate first (or name an older one: rotate KID)\n`,
    });

    expect(await keys(['retire', newKid!], env)).toEqual({
      code: 1,
      stdout: '',
      stderr: `signing key set ${file}: ${newKid} is the active key; rotate to another key first, and retire ${newKid} after its tokens have expired\n`,
    });
    expect(await keys(['retire', thumbprint], env)).toMatchObject({
      code: 0,
      stdout: `retired ${thumbprint}: reload every server (SIGHUP); tokens it signed no longer verify\n`,
    });
    expect(read(file).keys.map((key) => key.kid)).toEqual([newKid]);
  }, 60_000);

  it('refuses to edit a file the server would refuse (two active keys), and leaves it as it was', async () => {
    const { dir, keys } = workspace();
    const file = join(dir, 'jwks.json');
    const a = (await generateSigningJwks('ES256')).keys[0]!;
    const b = (await generateSigningJwks('ES256')).keys[0]!;
    const text = JSON.stringify({
      keys: [
        { ...a, state: 'active' },
        { ...b, state: 'active' },
      ],
    });
    writeFileSync(file, text);
    const result = await keys(['generate'], { JWKS_FILE: file });
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe(
      `signing key set ${file}: 2 keys have state "active" (${a.kid}, ${b.kid}); exactly one signs, mark the others "published"\n`,
    );
    expect(readFileSync(file, 'utf8')).toBe(text);
  }, 60_000);
});

describe('npm run keys on DATA_DIR', () => {
  it('list without a key file says how to get one; generate into an empty DATA_DIR makes the key active, as a first start would', async () => {
    const { env, keys } = workspace();
    const file = join(env.DATA_DIR, 'signing-keys.json');
    expect(await keys(['list'])).toEqual({ code: 1, stdout: '', stderr: `no key file ${file}: start the server once, or run generate\n` });
    const generated = await keys(['generate']);
    expect(generated.stdout).toMatch(new RegExp(`^generated ES256 key \\S+, active \\(${file.replace(/[.]/g, '\\.')} had no keys\\)\n$`));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(read(file).keys.map((key) => key.state)).toEqual(['active']);
  }, 60_000);

  it('rotate-nonce-secret writes a new secret and keeps the previous one; with DPOP_NONCE_SECRET it refuses and says what to set', async () => {
    const { env, keys } = workspace();
    const file = join(env.DATA_DIR, 'nonce-secret');
    expect(await keys(['rotate-nonce-secret'])).toMatchObject({ code: 0 });
    expect(await keys(['rotate-nonce-secret'])).toEqual({
      code: 0,
      stdout: `rotated the nonce secret in ${file}; the previous one is accepted until the next rotation: reload every server (SIGHUP)\n`,
      stderr: '',
    });
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
    const configured = await keys(['rotate-nonce-secret'], { DPOP_NONCE_SECRET: 'x'.repeat(40) });
    expect(configured).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'the nonce secret comes from dpop.nonceSecret (config or DPOP_NONCE_SECRET): set dpop.previousNonceSecret to it and dpop.nonceSecret to a new one (docs/operations.md)\n',
    });
  }, 60_000);

  it('answers usage errors with exit 2 and the usage, an invalid config with exit 1 and the field', async () => {
    const { keys } = workspace();
    const none = await keys([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^usage: npm run -s keys -- <command>/);
    const retire = await keys(['retire']);
    expect(retire.code).toBe(2);
    expect(retire.stderr).toMatch(/^retire: name the kid to remove\nusage: /);
    const alg = await keys(['generate', '--alg', 'HS256']);
    expect(alg.code).toBe(2);
    expect(alg.stderr).toMatch(/^generate: --alg must be one of ES256, ES384, PS256, RS256, EdDSA\n/);
    const bad = workspace({ keys: { algorithm: 'none' } });
    const invalid = await bad.keys(['list']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/keys\.algorithm/);
    expect(existsSync(bad.env.DATA_DIR)).toBe(false);
  }, 60_000);
});
