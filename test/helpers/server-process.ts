import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashClientSecret } from '../../src/users/secret-hash.js';
import { freePort } from './net.js';

/** A client of the process's config, for a token request that succeeds. */
export const processClient = { id: 'process-service', secret: 'process-service-secret-0123456789abcdef' };

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
  /** The JSON log lines written so far. */
  logLines(): Array<Record<string, unknown>>;
  /** Open descriptors of the process (Linux /proc). */
  openDescriptors(): number;
}

/** Runs src/main.ts as a child process (through tsx) with a config file and environment. */
export function spawnServer(env: Record<string, string>): ServerProcess & { port: number } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    port: Number(env.PORT ?? 0),
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    logLines: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    openDescriptors: () => readdirSync(`/proc/${child.pid}/fd`).length,
  };
}

/** A config file with one confidential client, in a fresh directory. */
export function writeProcessConfig(): { file: string; dataDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dpop-oidc-process-'));
  const file = join(dir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      clients: [
        {
          client_id: processClient.id,
          client_secret_hash: hashClientSecret(processClient.secret),
          token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['client_credentials'],
          scope: 'api:read',
        },
      ],
    }),
  );
  return { file, dataDir: join(dir, 'data') };
}

/** Starts the server on a free port of 127.0.0.1 and waits until /healthz answers. */
export async function startServerProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const { file, dataDir } = writeProcessConfig();
  const server = spawnServer({
    CONFIG_FILE: file,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}/oidc`,
    LOG_LEVEL: 'info',
    ...env,
  });
  for (let attempt = 0; attempt < 150; attempt++) {
    if ((await healthStatus(port)) === 200) return server;
    if (server.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  server.child.kill('SIGKILL');
  throw new Error(`server did not start: ${server.stderr()}`);
}

/** The first log line that matches, waiting a little for the child's output to arrive. */
export async function waitForLog(
  server: ServerProcess,
  matches: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown> | undefined> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const line = server.logLines().find(matches);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}

/** GET /healthz on a connection of its own that closes after it, so no kept-alive socket counts against a test's bounds. */
function healthStatus(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('error', () => resolve(undefined));
  });
}

/** Stops a server a test left running (no-op once it has exited). */
export async function killServer(server: ServerProcess | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGKILL');
  await server.exited;
}
