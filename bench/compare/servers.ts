/**
 * Starts the two servers for the benchmark, each as its own process on 127.0.0.1, optionally
 * pinned to one core with taskset, its log written to a file (not piped through the load
 * generator, which would then spend its core reading the other's logs).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connections } from './http.js';

export const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface Endpoints {
  issuer: string;
  token: string;
  userinfo: string;
  introspection: string;
  authorization: string;
}

export interface Server {
  name: string;
  port: number;
  endpoints: Endpoints;
  /** Fields typed into its sign-in page. */
  signInFields: Record<string, string>;
  /** The processes whose CPU time is the server's. */
  pids: readonly number[];
  logFile: string;
  stop: () => Promise<void>;
}

/**
 * The node options of `npm start` (package.json), which the Dockerfile's CMD repeats: the
 * benchmark runs the server as it is deployed.
 */
export function productionNodeOptions(): string[] {
  const manifest = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = manifest.scripts.start.split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== 'dist/main.js')
    throw new Error(`npm start is not "node [options] dist/main.js": ${manifest.scripts.start}`);
  return words.slice(1, -1);
}

/** Writes the servers' shared ES256 signing key (kid bench-es256) as a JWKS file in `dir`; returns its path. */
export function writeBenchSigningKeys(dir: string): string {
  const file = join(dir, 'signing-keys.json');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(
    file,
    JSON.stringify({ keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' }] }),
    {
      mode: 0o600,
    },
  );
  return file;
}

/** `NAME=VALUE` options (--env, --a-env) as an environment. */
export function environmentOf(pairs: readonly string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}

/** The CPU model this machine reports (/proc/cpuinfo, else node:os). */
export function cpuModel(): string {
  return /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown CPU';
}

export const hasTaskset = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Pins this process and all its threads (V8's and libuv's too) to `core`. */
export function pinSelf(core: number): void {
  if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
}

/**
 * `cores` is a taskset list ("0", "0-1"). Always given where taskset exists: a child would
 * otherwise inherit the load generator's core.
 */
function launch(args: string[], env: NodeJS.ProcessEnv, logFile: string, cores: string): ChildProcess {
  const log = openSync(logFile, 'a');
  const command = hasTaskset ? ['taskset', '-c', cores, process.execPath, ...args] : [process.execPath, ...args];
  // taskset execs node in place, so the child's pid is the server's.
  const child = spawn(command[0]!, command.slice(1), { cwd: repositoryRoot, env, stdio: ['ignore', log, log] });
  closeSync(log);
  return child;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
}

/** Waits for `path` to answer 200, at most `timeoutMs`; fails early if the process exits. */
async function waitReady(child: ChildProcess, port: number, path: string, logFile: string, timeoutMs = 30_000): Promise<void> {
  const connections = new Connections(port, 1);
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      const status = await connections.sendForStatus({ method: 'GET', path, headers: {} }, 2000);
      if (status === 200) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    connections.close();
  }
  throw new Error(`server on port ${port} did not get ready; its log (${logFile}):\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
}

async function discover(port: number, path: string): Promise<Endpoints> {
  const connections = new Connections(port, 1);
  try {
    const answer = await connections.send({ method: 'GET', path, headers: {} });
    const metadata = JSON.parse(answer.body) as Record<string, string>;
    return {
      issuer: metadata.issuer!,
      token: metadata.token_endpoint!,
      userinfo: metadata.userinfo_endpoint!,
      introspection: metadata.introspection_endpoint!,
      authorization: metadata.authorization_endpoint!,
    };
  } finally {
    connections.close();
  }
}

export interface OursOptions {
  dir: string;
  jwksFile: string;
  cores: string;
  store: 'memory' | 'redis';
  /** Processes behind one port (node:cluster); undefined runs dist/main.js itself. */
  workers?: number;
  redisKeyPrefix?: string;
  /** The build to run, relative to the repository (bench/ab.ts runs two): dist/main.js by default. */
  main?: string;
  /** Options for node itself, before the script (bench/profile.ts adds --cpu-prof); npm start's by default. */
  nodeArgs?: readonly string[];
  /** Overrides of the environment given to the server (LOG_LEVEL, say). */
  env?: NodeJS.ProcessEnv;
}

/**
 * dpop-oidc from dist/ with the demo config (config/default.json), LOG_LEVEL=info, and one
 * change the benchmark needs: every code is minted from one address, past the per-address
 * limit on authorization requests (120 a minute).
 */
export async function startOurs(options: OursOptions): Promise<Server> {
  const main = options.main ?? 'dist/main.js';
  if (!existsSync(join(repositoryRoot, main))) throw new Error(`${main} is missing: run npm run build first`);
  const demo = JSON.parse(readFileSync(join(repositoryRoot, 'config/default.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  const port = await freePort();
  const label = `${options.workers ? `ours-${options.store}-${options.workers}` : `ours-${options.store}`}-${port}`;
  const configFile = join(options.dir, `${label}.json`);
  writeFileSync(
    configFile,
    JSON.stringify({
      ...demo,
      http: { ...demo.http, authorizeRequestsPerMinute: 1_000_000 },
      store: { ...demo.store, type: options.store, ...(options.redisKeyPrefix ? { keyPrefix: options.redisKeyPrefix } : {}) },
    }),
  );
  const env = {
    ...process.env,
    CONFIG_FILE: configFile,
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}/oidc`,
    LOG_LEVEL: 'info',
    DATA_DIR: join(options.dir, `${label}-data`),
    JWKS_FILE: options.jwksFile,
    // Every worker of a cluster must accept the others' nonces.
    DPOP_NONCE_SECRET: 'bench-nonce-secret-0123456789abcdef0123456789',
    BENCH_WORKERS: String(options.workers ?? 1),
    BENCH_PIDS_FILE: join(options.dir, `${label}.pids`),
    ...options.env,
  };
  const logFile = join(options.dir, `${label}.log`);
  const script = options.workers ? 'bench/compare/cluster-server.mjs' : main;
  const child = launch([...(options.nodeArgs ?? productionNodeOptions()), script], env, logFile, options.cores);
  await waitReady(child, port, '/healthz', logFile);
  let pids = [child.pid!];
  if (options.workers) {
    for (let attempt = 0; attempt < 100 && !existsSync(env.BENCH_PIDS_FILE); attempt++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    pids = [child.pid!, ...(JSON.parse(readFileSync(env.BENCH_PIDS_FILE, 'utf8')) as number[])];
  }
  return {
    name: options.workers ? `dpop-oidc, ${options.workers} process${options.workers > 1 ? 'es' : ''}, ${options.store}` : 'dpop-oidc',
    port,
    endpoints: await discover(port, '/oidc/.well-known/openid-configuration'),
    signInFields: { username: 'alice', password: 'alice-demo-password', decision: 'allow' },
    pids,
    logFile,
    stop: stopper(child),
  };
}

export const peerDirectory = join(repositoryRoot, 'bench/peer');

/** The version of oidc-provider installed for the benchmark. */
export function peerVersion(): string {
  const manifest = JSON.parse(readFileSync(join(peerDirectory, 'node_modules/oidc-provider/package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/** Installs bench/peer's locked dependencies when they are missing (not part of the project's own npm ci). */
export function installPeer(): void {
  if (existsSync(join(peerDirectory, 'node_modules/oidc-provider/package.json'))) return;
  const result = spawnSync('npm', ['ci', '--prefix', peerDirectory, '--no-audit', '--no-fund'], { stdio: 'inherit', cwd: repositoryRoot });
  if (result.status !== 0) throw new Error('npm ci --prefix bench/peer failed');
}

export async function startPeer(options: { dir: string; jwksFile: string; cores: string }): Promise<Server> {
  const port = await freePort();
  const logFile = join(options.dir, 'peer.log');
  const env = { ...process.env, PORT: String(port), JWKS_FILE: options.jwksFile, NODE_ENV: 'production' };
  const child = launch([join(peerDirectory, 'server.mjs')], env, logFile, options.cores);
  await waitReady(child, port, '/.well-known/openid-configuration', logFile);
  return {
    name: 'node-oidc-provider',
    port,
    endpoints: await discover(port, '/.well-known/openid-configuration'),
    signInFields: { login: 'alice', password: 'any' },
    pids: [child.pid!],
    logFile,
    stop: stopper(child),
  };
}
