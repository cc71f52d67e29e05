import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';

/** Runs src/main.ts as a process (through tsx), as `npm start` runs dist/main.js. */
function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('process start-up and shutdown', () => {
  it('stops at once on an invalid config, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpop-oidc-start-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ accessToken: { ttlSeconds: 'long' } }));
    const server = startServer({ CONFIG_FILE: file });
    expect(await server.exited).toBe(1);
    expect(server.output().stderr).toContain('accessToken.ttlSeconds');
  });

  it('serves on the configured port, logs JSON, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'dpop-oidc-data-'));
    const server = startServer({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, ISSUER: `http://127.0.0.1:${port}/oidc` });
    let health: Response | undefined;
    for (let attempt = 0; attempt < 100 && !health; attempt++) {
      health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (!health) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(health?.status).toBe(200);
    const discovery = (await (await fetch(`http://127.0.0.1:${port}/oidc/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(discovery.issuer).toBe(`http://127.0.0.1:${port}/oidc`);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const lines = server
      .output()
      .stdout.trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.some((line) => line.msg === 'dpop-oidc is ready')).toBe(true);
    expect(lines.some((line) => line.msg === 'shutting down' && line.signal === 'SIGTERM')).toBe(true);
  });
});
