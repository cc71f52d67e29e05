import { createServer, type Server } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { spawnServer, writeProcessConfig } from '../helpers/server-process.js';

/** A start-up failure is one line on stderr saying what to fix, exit status 1, never a stack trace. */
async function failedStart(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const { file, dataDir } = writeProcessConfig();
  const port = await freePort();
  const server = spawnServer({ CONFIG_FILE: file, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', ...env });
  const code = await server.exited;
  return { code, stderr: server.stderr(), stdout: server.stdout() };
}

function expectOneLine(result: { code: number | null; stderr: string; stdout: string }, message: string): void {
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(`dpop-oidc failed to start: ${message}\n`);
  expect(result.stdout).not.toContain('    at ');
}

describe('start-up failures', () => {
  let occupied: Server;
  let occupiedPort: number;
  beforeAll(async () => {
    occupiedPort = await freePort();
    occupied = createServer();
    await new Promise<void>((resolve) => occupied.listen(occupiedPort, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => occupied.close(() => resolve())));

  it('names the address when the port is in use', async () => {
    const result = await failedStart({ PORT: String(occupiedPort) });
    expectOneLine(result, `cannot listen on 127.0.0.1:${occupiedPort}: the address is already in use (EADDRINUSE)`);
  });

  it('names the config file when it does not parse', async () => {
    const { file } = writeProcessConfig();
    writeFileSync(file, '{ "http": ');
    const result = await failedStart({ CONFIG_FILE: file });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^dpop-oidc failed to start: config: cannot read ${file}: .*JSON.*\\n$`));
  });

  it('lists every invalid field with its path on the one line', async () => {
    const { file } = writeProcessConfig();
    writeFileSync(file, JSON.stringify({ accessToken: { ttlSeconds: 'long' }, http: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } }));
    const result = await failedStart({ CONFIG_FILE: file });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^dpop-oidc failed to start: invalid configuration in ${file}: ` +
          'http.headersTimeoutMs: must not exceed http.requestTimeoutMs; accessToken.ttlSeconds: .+\\n$',
      ),
    );
  });

  it('names Redis when it is unreachable', async () => {
    const redisPort = await freePort();
    const result = await failedStart({ STORE: 'redis', REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^dpop-oidc failed to start: cannot reach Redis at redis://127.0.0.1:${redisPort}: [^\\n]+\\n$`),
    );
  });

  it('names the keys file when it is not a JWK set', async () => {
    const { file } = writeProcessConfig();
    const keysFile = join(dirname(file), 'keys.json');
    writeFileSync(keysFile, 'not json');
    const result = await failedStart({ JWKS_FILE: keysFile });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^dpop-oidc failed to start: ${keysFile}: not JSON[^\\n]*\\n$`));
  });
});
