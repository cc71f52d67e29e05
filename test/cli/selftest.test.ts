import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSelftest } from '../../src/cli/selftest-checks.js';
import { freePort } from '../helpers/net.js';
import { demoService, listenDemoApp, runScript, type DemoApp } from '../helpers/demo-app.js';

/** `npm run selftest`: drives a running deployment, one line per check, non-zero on failure. */
const selftest = (issuer: string, secret = demoService.secret) =>
  runScript('src/cli/selftest.ts', ['--issuer', issuer, '--client-id', demoService.id, '--client-secret', secret]);
const lines = (stdout: string) => stdout.trim().split('\n');
const statusOf = (stdout: string, check: string) =>
  lines(stdout)
    .find((line) => line.slice(6).startsWith(`${check} `))
    ?.slice(0, 4);

describe('the self-check against a correct deployment', () => {
  let strict: DemoApp;
  let plain: DemoApp;
  beforeAll(async () => {
    [strict, plain] = await Promise.all([listenDemoApp({ requireNonce: true }), listenDemoApp()]);
  });
  afterAll(() => Promise.all([strict.close(), plain.close()]));

  it('passes every check where nonces are required, the nonce retry included, and exits 0', async () => {
    const result = await selftest(strict.url);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const out = lines(result.stdout);
    expect(out.slice(0, -1).map((line) => line.slice(0, 16).trimEnd())).toEqual([
      'PASS  discovery',
      'PASS  clock',
      'PASS  token',
      'PASS  profile',
      'PASS  nonce',
      'PASS  replay',
      'PASS  htu',
    ]);
    expect(out.at(-1)).toBe(`all checks passed against ${strict.url}`);
    expect(result.stdout).toContain('PASS  nonce      required; the retry with DPoP-Nonce was accepted at /oidc/token, /oidc/profile');
    expect(result.stdout).toContain('PASS  replay     refused: 400 invalid_dpop_proof: DPoP proof has already been used');
    expect(result.stdout).toContain('400 invalid_dpop_proof: DPoP proof htu does not match the request URL');
  });

  it('skips the nonce check where nonces are not required and still exits 0', async () => {
    const result = await selftest(plain.url);
    expect(result.code).toBe(0);
    expect(statusOf(result.stdout, 'nonce')).toBe('SKIP');
    expect(['discovery', 'clock', 'token', 'profile', 'replay', 'htu'].map((check) => statusOf(result.stdout, check))).toEqual(
      Array(6).fill('PASS'),
    );
  });

  it('names the client credentials when the secret is wrong, exit 1', async () => {
    const result = await selftest(plain.url, 'not-the-secret-0123456789abcdef0123');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAIL  token      401 invalid_client');
    expect(result.stdout).toContain('      hint: check --client-id and --client-secret (sent with client_secret_basic)');
    expect(statusOf(result.stdout, 'replay')).toBe('SKIP');
  });

  it('fails with the path hint when --issuer has a wrong path, exit 1', async () => {
    const wrong = plain.url.replace(/\/oidc$/, '/wrong');
    const result = await selftest(wrong);
    expect(result.code).toBe(1);
    expect(lines(result.stdout).slice(0, 2)).toEqual([
      `FAIL  discovery  404 at ${wrong}/.well-known/openid-configuration`,
      '      hint: --issuer must be the issuer URL, path included (the server serves /.well-known/openid-configuration under it)',
    ]);
    expect(lines(result.stdout).at(-1)).toBe(`1 check(s) failed against ${wrong}`);
  });

  it('a local clock two minutes ahead fails the clock check, and the refused proof gets the clock hint', async () => {
    const results = await runSelftest({
      issuer: plain.url,
      clientId: demoService.id,
      clientSecret: demoService.secret,
      now: () => Date.now() + 120_000,
    });
    const clock = results.find((result) => result.name === 'clock');
    const token = results.find((result) => result.name === 'token');
    expect(clock?.status).toBe('fail');
    expect(clock?.hint).toMatch(
      /^this machine's clock is 1[12]\d s ahead of the server's \(Date header\); proofs are accepted from 60 s old to 5 s ahead/,
    );
    expect(token).toMatchObject({ status: 'fail', hint: clock?.hint });
    expect(token?.detail).toMatch(/^400 invalid_dpop_proof: DPoP proof iat is outside the acceptance window; server time is \d{10}$/);
  });
});

describe('the self-check against the proxy mistake (the configured issuer is not the URL clients use)', () => {
  let misconfigured: DemoApp;
  beforeAll(async () => {
    misconfigured = await listenDemoApp({ issuer: () => 'https://op.example.test/oidc' });
  });
  afterAll(() => misconfigured.close());

  it('fails discovery and the token request (htu) with the ISSUER hint, exit 1', async () => {
    const result = await selftest(misconfigured.url);
    expect(result.code).toBe(1);
    const hint = `      hint: every DPoP htu is checked against the configured issuer: behind a proxy, set ISSUER to the public URL (${misconfigured.url})`;
    expect(lines(result.stdout).slice(0, 5)).toEqual([
      `FAIL  discovery  the server's issuer is https://op.example.test/oidc, not ${misconfigured.url}`,
      hint,
      expect.stringMatching(/^PASS  clock/),
      'FAIL  token      400 invalid_dpop_proof: DPoP proof htu does not match the request URL; expected https://op.example.test/oidc/token',
      hint,
    ]);
    expect(lines(result.stdout).at(-1)).toBe(`2 check(s) failed against ${misconfigured.url}`);
  });
});

describe('the self-check without a server, or without arguments', () => {
  it('says it cannot reach the issuer, in one line with a hint, exit 1', async () => {
    const issuer = `http://127.0.0.1:${await freePort()}/oidc`;
    const result = await selftest(issuer);
    expect(result.code).toBe(1);
    expect(lines(result.stdout).slice(0, 2)).toEqual([
      `FAIL  discovery  cannot reach ${issuer}/.well-known/openid-configuration: ECONNREFUSED`,
      '      hint: is the server running, and is --issuer its URL (with the path, e.g. https://op.example.com/oidc)?',
    ]);
  });

  it('exits 2 with one line on stderr for a usage error', async () => {
    const result = await runScript('src/cli/selftest.ts', ['--issuer', 'http://localhost:8080/oidc']);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        '--client-id and --client-secret are required; usage: selftest --issuer URL --client-id ID --client-secret SECRET [--timeout-ms 10000]\n',
    });
  });
});
