import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoService, listenDemoApp, runScript, type DemoApp } from '../helpers/demo-app.js';

/** `npm run proof`: one DPoP proof JWT on stdout, from a key file it creates once and reuses. */
const proof = (args: string[], cwd: string) => runScript('src/cli/proof.ts', args, { cwd });
const jwtLine = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/;

describe('the proof command', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'proof-cli-'));
  });

  it('prints exactly one proof JWT for the method and URL (htu without query and fragment), nothing else', async () => {
    const result = await proof(['--method', 'post', '--url', 'http://localhost:8080/oidc/token?x=1#f'], dir);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(jwtLine);
    const jwt = result.stdout.trim();
    const header = decodeProtectedHeader(jwt);
    expect(header).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256' } });
    expect(Object.keys(header.jwk!).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    const claims = decodeJwt(jwt);
    expect(claims).toMatchObject({ htm: 'POST', htu: 'http://localhost:8080/oidc/token' });
    expect(claims.jti).toEqual(expect.any(String));
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(30);
    expect(claims).not.toHaveProperty('ath');
  });

  it('creates the key file as a private P-256 JWK with mode 0600, then reuses it (same thumbprint, new jti)', async () => {
    const key = join(dir, 'reused.json');
    const first = await proof(['--method', 'GET', '--url', 'https://op.example.com/oidc/profile', '--key', key], dir);
    const jwk = JSON.parse(readFileSync(key, 'utf8')) as JWK;
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', d: expect.any(String) });
    expect(statSync(key).mode & 0o777).toBe(0o600);
    const second = await proof(['--method', 'GET', '--url', 'https://op.example.com/oidc/profile', '--key', key], dir);
    const [a, b] = [first.stdout.trim(), second.stdout.trim()];
    expect(await calculateJwkThumbprint(decodeProtectedHeader(a).jwk!)).toBe(await calculateJwkThumbprint(decodeProtectedHeader(b).jwk!));
    expect(await calculateJwkThumbprint(decodeProtectedHeader(a).jwk!)).toBe(await calculateJwkThumbprint(jwk));
    expect(decodeJwt(a).jti).not.toBe(decodeJwt(b).jti);
  });

  it('adds ath = base64url(SHA-256(access token)) and the nonce when given (RFC 9449 §4.2)', async () => {
    const result = await proof(
      ['--method', 'GET', '--url', 'http://localhost:8080/oidc/profile', '--access-token', 'an.access.token', '--nonce', 'n-1'],
      dir,
    );
    expect(decodeJwt(result.stdout.trim())).toMatchObject({
      ath: createHash('sha256').update('an.access.token').digest('base64url'),
      nonce: 'n-1',
    });
  });

  it('makes keys for other algorithms with --alg and refuses an --alg the key file does not hold', async () => {
    const key = join(dir, 'ed.json');
    const made = await proof(['--method', 'POST', '--url', 'http://localhost:8080/oidc/token', '--key', key, '--alg', 'EdDSA'], dir);
    expect(decodeProtectedHeader(made.stdout.trim())).toMatchObject({ alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'Ed25519' } });
    const mismatch = await proof(['--method', 'POST', '--url', 'http://localhost:8080/oidc/token', '--key', key, '--alg', 'ES256'], dir);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stdout).toBe('');
    expect(mismatch.stderr).toBe(`${key} holds an EdDSA key, not ES256: use another --key file\n`);
  });

  it.each([
    [['--url', 'http://localhost:8080/oidc/token'], /^--method is required/],
    [['--method', 'POST'], /^--url must be an absolute http\(s\) URL/],
    [['--method', 'POST', '--url', 'localhost:8080/oidc/token'], /^--url must be an absolute http\(s\) URL/],
    [['--method', 'POST', '--url', 'http://x/', '--alg', 'HS256'], /^--alg must be one of ES256, /],
    [['--method', 'POST', '--url', 'http://x/', '--bogus'], /^Unknown option '--bogus'/],
  ])('exits 2 with one line on stderr for a usage error: %j', async (args, message) => {
    const result = await proof(args, dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses a key file that is not a private JWK, in one line, exit 1', async () => {
    const key = join(dir, 'public.json');
    writeFileSync(key, JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }));
    const result = await proof(['--method', 'POST', '--url', 'http://x/', '--key', key], dir);
    expect(result).toEqual({ code: 1, stdout: '', stderr: `${key} is not a private JWK\n` });
  });
});

describe('proofs from the proof command at the real provider', () => {
  let demo: DemoApp;
  let dir: string;
  beforeAll(async () => {
    demo = await listenDemoApp();
    dir = mkdtempSync(join(tmpdir(), 'proof-cli-app-'));
  });
  afterAll(() => demo.close());

  it('gets a DPoP token bound to the key file, then calls the profile with a proof carrying ath', async () => {
    const tokenProof = await proof(['--method', 'POST', '--url', `${demo.url}/token`], dir);
    const tokenResponse = await fetch(`${demo.url}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${demoService.id}:${demoService.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        dpop: tokenProof.stdout.trim(),
      },
      body: 'grant_type=client_credentials',
    });
    const token = (await tokenResponse.json()) as { access_token: string; token_type: string };
    expect(tokenResponse.status).toBe(200);
    expect(token.token_type).toBe('DPoP');
    const jwk = JSON.parse(readFileSync(join(dir, 'dpop-key.json'), 'utf8')) as JWK;
    expect(decodeJwt(token.access_token).cnf).toEqual({ jkt: await calculateJwkThumbprint(jwk) });

    const profileProof = await proof(['--method', 'GET', '--url', `${demo.url}/profile`, '--access-token', token.access_token], dir);
    const profile = await fetch(`${demo.url}/profile`, {
      headers: { authorization: `DPoP ${token.access_token}`, dpop: profileProof.stdout.trim() },
    });
    expect(profile.status).toBe(200);
    expect(await profile.json()).toEqual({ sub: demoService.id });
  });
});
