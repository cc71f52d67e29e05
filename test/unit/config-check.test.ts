import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killServer, startServerProcess, waitForLog, type ServerProcess } from '../helpers/server-process.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A real child process with only the variables given (plus PATH), as an operator would run it;
 * its whole process group is killed if it outlives the bound (npm leaves its child otherwise).
 */
function run(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: { PATH: process.env.PATH ?? '', ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const bound = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(bound);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `node dist/main.js --check-config` in the image; here the same entry through tsx. */
// HOST keeps any server a broken --check-config might start on loopback.
const checkConfig = (env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', 'src/main.ts', '--check-config'], { HOST: '127.0.0.1', ...env });

function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'dpop-oidc-check-config-'));
}

describe('check-config (node dist/main.js --check-config, npm run -s check-config)', () => {
  it('prints what the demo config would serve, no warnings, exits 0, and writes nothing', async () => {
    const dataDir = join(scratchDir(), 'data');
    const result = await checkConfig({ CONFIG_FILE: 'config/default.json', DATA_DIR: dataDir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'config: config/default.json, with HOST, DATA_DIR from the environment',
      'issuer: http://localhost:8080/oidc',
      'listens on: 127.0.0.1:8080 (trustProxy: false)',
      'endpoints:',
      '  authorization: http://localhost:8080/oidc/authorize',
      '  login: http://localhost:8080/oidc/login',
      '  consent: http://localhost:8080/oidc/consent',
      '  token: http://localhost:8080/oidc/token',
      '  profile: http://localhost:8080/oidc/profile',
      '  introspection: http://localhost:8080/oidc/introspect',
      '  revocation: http://localhost:8080/oidc/revoke',
      '  endSession: http://localhost:8080/oidc/logout',
      '  jwks: http://localhost:8080/oidc/jwks',
      'store: memory (one process; at most 1000000 entries per store)',
      `signing keys: kept in ${join(dataDir, 'signing-keys.json')}, generated there on first start (ES256)`,
      `dpop: algs ES256 ES384 PS256 EdDSA Ed25519; nonce required of the clients that ask for it; nonce secret kept in ${join(dataDir, 'nonce-secret')}`,
      'clients (3):',
      '  - demo-spa; none; grants authorization_code refresh_token; DPoP required',
      '  - demo-service; client_secret_basic; grants client_credentials; DPoP optional',
      '  - demo-resource-server; client_secret_basic; grants (none); DPoP optional; may introspect',
      'users: 1',
      'warnings: none',
      '',
    ]);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('lists the warnings and still exits 0', async () => {
    const result = await checkConfig({
      CONFIG_FILE: 'config/default.json',
      ISSUER: 'https://id.example.com/oidc',
      PORT: '443',
      STORE: 'redis',
      REDIS_URL: 'redis://:hunter2@redis.internal:6379',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('\nissuer: https://id.example.com/oidc\n');
    expect(result.stdout).toContain('\nstore: redis at redis://:***@redis.internal:6379, keys prefixed dpop-oidc:\n');
    expect(result.stdout).not.toContain('hunter2');
    expect(result.stdout).toMatch(
      /\nwarnings \(3\):\n {2}- client demo-service has the demo secret .*\n {2}- client demo-resource-server .*\n {2}- user alice has the demo password .*\n$/,
    );
  });

  it('prints each problem on its own line, path or variable named, and exits 1', async () => {
    const file = join(scratchDir(), 'config.json');
    writeFileSync(
      file,
      JSON.stringify({ clients: [{ client_id: 'api', client_secret_hash: 'sha256$x$y', dpop_bound_access_token: true }] }),
    );
    const result = await checkConfig({ CONFIG_FILE: file, DPOP_REQUIRE_NONCE: 'yes' });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `invalid configuration in ${file} and the environment:\n` +
        '  - clients.0.dpop_bound_access_token: unknown key (did you mean dpop_bound_access_tokens?)\n' +
        '  - DPOP_REQUIRE_NONCE (dpop.requireNonce): expected true, false, 1 or 0, got "yes"\n',
    );
  });

  it('exits 1 naming a config file that cannot be read', async () => {
    const result = await checkConfig({ CONFIG_FILE: '/nonexistent/config.json' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^config: cannot read \/nonexistent\/config\.json: ENOENT/);
  });

  it('runs as npm run -s check-config', async () => {
    const result = await run('npm', ['run', '-s', 'check-config'], {
      CONFIG_FILE: 'config/default.json',
      HOST: '127.0.0.1',
      PORT: '18302',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^config: config\/default\.json, with PORT, HOST from the environment\n/);
    expect(result.stdout).toMatch(
      /\nwarnings \(1\):\n {2}- PORT=18302 differs from the port of the issuer http:\/\/localhost:8080\/oidc \(8080\)/,
    );
  });
});

describe('the server logs each config warning at start', () => {
  let server: ServerProcess | undefined;
  afterEach(() => killServer(server));

  it('logs the PORT warning once, at warn, when the issuer names another port', async () => {
    server = await startServerProcess({ ISSUER: 'http://127.0.0.1:1/oidc' });
    const warning = await waitForLog(server, (line) => typeof line.msg === 'string' && line.msg.startsWith(`PORT=${server!.port} differs`));
    expect(warning).toMatchObject({ level: 40, msg: expect.stringContaining('(http.trustProxy false)') });
    expect(server.logLines().filter((line) => line.level === 40)).toHaveLength(1);
  });

  it('logs no warning when the issuer is the address it listens on', async () => {
    server = await startServerProcess();
    expect(await waitForLog(server, (line) => line.msg === 'dpop-oidc is ready')).toBeDefined();
    expect(server.logLines().filter((line) => line.level === 40)).toEqual([]);
  });
});
