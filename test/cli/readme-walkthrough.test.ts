import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenDemoApp, repositoryRoot, type DemoApp } from '../helpers/demo-app.js';

/**
 * The README's curl walk-through, run as written (the blocks after its
 * `<!-- walkthrough-test: … -->` markers) with bash against the real app on the demo config.
 * Only the `OP=` line changes, to where the app listens.
 */
const readme = readFileSync(join(repositoryRoot, 'README.md'), 'utf8');
const packageJson = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

function readmeBlock(name: string): string {
  const block = new RegExp(`<!-- walkthrough-test: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
  if (!block) throw new Error(`README has no sh block after <!-- walkthrough-test: ${name} -->`);
  return block;
}

function runBlock(block: string, issuer: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = block.replace(/^OP=http:\/\/localhost:8080\/oidc$/m, `OP=${issuer}`);
  expect(script).not.toContain('localhost:8080');
  // `npm run -s proof --` runs package.json's script (checked below); here from a scratch directory.
  const prelude = [
    'set -euo pipefail',
    `npm() { if [ "$1 $2 $3 $4" = "run -s proof --" ]; then shift 4; node --import '${import.meta.resolve('tsx')}' '${join(repositoryRoot, 'src/cli/proof.ts')}' "$@"; else command npm "$@"; fi; }`,
  ].join('\n');
  return new Promise((resolve) => {
    execFile('bash', ['-c', `${prelude}\n${script}`], { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('the README walk-through, run as written', () => {
  let plain: DemoApp;
  let strict: DemoApp;
  beforeAll(async () => {
    [plain, strict] = await Promise.all([listenDemoApp(), listenDemoApp({ requireNonce: true })]);
  });
  afterAll(() => Promise.all([plain.close(), strict.close()]));

  it('runs the proof command through the package script', () => {
    expect(packageJson.scripts.proof).toBe('node --import tsx src/cli/proof.ts');
  });

  it('token, profile with ath, introspection with cnf.jkt of the key file, and a refused replay', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'readme-walkthrough-'));
    const result = await runBlock(readmeBlock('dpop'), plain.url, cwd);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const jkt = await calculateJwkThumbprint(JSON.parse(readFileSync(join(cwd, 'dpop-key.json'), 'utf8')) as JWK);
    const out = result.stdout.split('\n');
    expect(JSON.parse(out[0]!)).toMatchObject({ issuer: plain.url, token_endpoint: `${plain.url}/token` });
    expect(JSON.parse(out[1]!)).toHaveProperty('keys');
    expect(JSON.parse(out[2]!)).toMatchObject({ token_type: 'DPoP', scope: 'api:read api:write' });
    expect(out[3]).toBe('{"sub":"demo-service"}');
    expect(JSON.parse(out[4]!)).toMatchObject({ active: true, token_type: 'DPoP', client_id: 'demo-service', cnf: { jkt } });
    expect(out[5]).toBe('{"sub":"demo-service"}');
    expect(out[6]).toMatch(/^www-authenticate: DPoP error="invalid_dpop_proof", error_description="DPoP proof has already been used"/);
  });

  it('the nonce retry: 400 use_dpop_nonce with DPoP-Nonce, then the proof with that nonce gets the token', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'readme-walkthrough-nonce-'));
    const result = await runBlock(readmeBlock('nonce'), strict.url, cwd);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^HTTP\/1\.1 400 Bad Request\r?\n/);
    expect(result.stdout).toMatch(/\ndpop-nonce: \S+/i);
    expect(result.stdout).toContain('"error":"use_dpop_nonce"');
    const last = result.stdout.trim().split('\n').at(-1)!;
    expect(JSON.parse(last)).toMatchObject({ token_type: 'DPoP' });
  });
});
