/**
 * What the request line and the metrics cost on the hot path, side by side in one run:
 *   npx tsx bench/logging.ts [requests-per-round=3000] [rounds=3] [concurrency=16]
 * Four server processes (src/main.ts through tsx, demo config, memory store, nonces off) run at
 * once: LOG_LEVEL=info or warn, metrics on or off. Each round sends the same freshly signed
 * DPoP proofs to each server in turn (client_credentials at the token endpoint; every server
 * has its own replay cache and all share one configured issuer, so the proofs fit them all).
 * Reported per configuration, as the median over rounds: requests per second, server CPU per
 * request (utime+stime of the process from /proc, over the round), log bytes per request.
 * Then, in this process: the request line and the metrics of one request, and the store
 * instrumentation per call, in ns.
 * BASELINE=<dir> adds the server of another checkout (an earlier commit) at info and warn.
 * Bounded: a fixed number of requests to 127.0.0.1 only, then it stops the servers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { pino } from 'pino';
import { loggerOptions } from '../src/logger.js';
import { requestLine } from '../src/observability/request-log.js';
import { parseConfig } from '../src/config/load.js';
import { AppMetrics } from '../src/observability/metrics.js';
import { instrumentStores } from '../src/observability/instrument-stores.js';
import { createStores } from '../src/stores/create-stores.js';
import { generateSigningJwks, signingKeysFromJwks } from '../src/tokens/keys.js';

const perRound = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 3);
const concurrency = Number(process.argv[4] ?? 16);
const basic = `Basic ${Buffer.from('demo-service:demo-service-secret-0123456789abcdef').toString('base64')}`;
const clockTicksPerSecond = 100;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: concurrency * 4 });
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Server {
  name: string;
  port: number;
  child: ChildProcess;
  logBytes: number;
  logLines: number;
  samples: Array<{ rps: number; cpuUsPerRequest: number; logBytesPerRequest: number; logLinesPerRequest: number }>;
}

function cpuSeconds(pid: number): number {
  // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, after the ")" of the name.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

async function startServer(name: string, issuer: string, env: Record<string, string>, cwd = process.cwd()): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: issuer,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'bench-logging-')),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const server: Server = { name, port, child, logBytes: 0, logLines: 0, samples: [] };
  // Drained as a log collector would: a pipe, not /dev/null.
  child.stdout!.on('data', (chunk: Buffer) => {
    server.logBytes += chunk.length;
    for (const byte of chunk) if (byte === 10) server.logLines++;
  });
  for (let attempt = 0; attempt < 150; attempt++) {
    if ((await send(port, 'GET', '/healthz', {}).catch(() => 0)) === 200) return server;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not start`);
}

async function load(server: Server, proofs: readonly string[]): Promise<void> {
  const headers = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic };
  const cpuBefore = cpuSeconds(server.child.pid!);
  const bytesBefore = server.logBytes;
  const linesBefore = server.logLines;
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < proofs.length) {
        const dpop = proofs[next++]!;
        if ((await send(server.port, 'POST', '/oidc/token', { ...headers, dpop }, 'grant_type=client_credentials')) !== 200) failures++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  // Lines are written when a response completes: let the last ones arrive.
  await new Promise((resolve) => setTimeout(resolve, 200));
  if (failures > 0) throw new Error(`${server.name}: ${failures} requests were not answered 200`);
  server.samples.push({
    rps: proofs.length / seconds,
    cpuUsPerRequest: ((cpuSeconds(server.child.pid!) - cpuBefore) * 1e6) / proofs.length,
    logBytesPerRequest: (server.logBytes - bytesBefore) / proofs.length,
    logLinesPerRequest: (server.logLines - linesBefore) / proofs.length,
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** ns per call of a memory store operation, raw and wrapped by instrumentStores. */
async function storeInstrumentationCost(): Promise<{ raw: number; instrumented: number }> {
  const config = parseConfig({});
  const stores = await createStores(config.store, { replayCacheMaxEntries: 1000 }, Date.now);
  const metrics = new AppMetrics({ signingKeys: await signingKeysFromJwks(await generateSigningJwks('ES256')), tokenRoute: '/oidc/token' });
  const wrapped = instrumentStores(stores, metrics);
  const calls = 300_000;
  const time = async (peek: (key: string) => Promise<unknown>) => {
    for (let i = 0; i < 20_000; i++) await peek('absent');
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await peek('absent');
    return Number(process.hrtime.bigint() - started) / calls;
  };
  const raw: number[] = [];
  const instrumented: number[] = [];
  for (let round = 0; round < 3; round++) {
    raw.push(await time((key) => stores.codes.peek(key)));
    instrumented.push(await time((key) => wrapped.codes.peek(key)));
  }
  return { raw: median(raw), instrumented: median(instrumented) };
}

/** ns per request of the request line (built and written by pino to /dev/null) and of recording its metrics. */
async function perRequestWork(): Promise<{ line: number; metrics: number }> {
  const logger = pino(loggerOptions('info'), pino.destination({ dest: '/dev/null', sync: true })).child({ reqId: randomUUID() });
  const metrics = new AppMetrics({ signingKeys: await signingKeysFromJwks(await generateSigningJwks('ES256')), tokenRoute: '/oidc/token' });
  // The fields requestLine and recordRequest read from a token request that was answered 200.
  const request = {
    method: 'POST',
    url: '/oidc/token',
    ip: '127.0.0.1',
    clientId: 'demo-service',
    clientAuthMethod: 'client_secret_basic',
    grantType: 'client_credentials',
    tokenType: 'DPoP',
    oauthError: undefined,
    refusalReason: undefined,
  } as unknown as FastifyRequest;
  const calls = 200_000;
  const time = (work: () => void) => {
    for (let i = 0; i < 20_000; i++) work();
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) work();
    return Number(process.hrtime.bigint() - started) / calls;
  };
  const line: number[] = [];
  const recorded: number[] = [];
  for (let round = 0; round < 3; round++) {
    line.push(time(() => logger.info(requestLine(request, '/oidc/token', 200, 0.412, undefined), 'request completed')));
    recorded.push(time(() => metrics.recordRequest(request, '/oidc/token', 200, 0.412, undefined)));
  }
  return { line: median(line), metrics: median(recorded) };
}

const issuerPort = await freePort();
const issuer = `http://127.0.0.1:${issuerPort}/oidc`;
const configurations: Array<{ name: string; env: Record<string, string>; cwd?: string }> = [
  { name: 'info, metrics on', env: { LOG_LEVEL: 'info', METRICS_ENABLED: 'true' } },
  { name: 'warn, metrics on', env: { LOG_LEVEL: 'warn', METRICS_ENABLED: 'true' } },
  { name: 'info, metrics off', env: { LOG_LEVEL: 'info', METRICS_ENABLED: 'false' } },
  { name: 'warn, metrics off', env: { LOG_LEVEL: 'warn', METRICS_ENABLED: 'false' } },
];
// BASELINE=<a checkout of an earlier commit, with node_modules>: its server at info and warn too.
const baseline = process.env.BASELINE;
if (baseline) {
  configurations.push(
    { name: 'baseline, info', env: { LOG_LEVEL: 'info' }, cwd: baseline },
    { name: 'baseline, warn', env: { LOG_LEVEL: 'warn' }, cwd: baseline },
  );
}
const servers: Server[] = [];
try {
  for (const { name, env, cwd } of configurations) servers.push(await startServer(name, issuer, env, cwd));
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const proofs = (count: number) =>
    Promise.all(
      Array.from({ length: count }, () =>
        new SignJWT({ jti: randomUUID(), htm: 'POST', htu: `${issuer}/token`, iat: Math.floor(Date.now() / 1000) })
          .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
          .sign(privateKey),
      ),
    );
  console.log(
    `DPoP client_credentials at the token endpoint: ${rounds} rounds of ${perRound} requests per server, concurrency ${concurrency}, Node ${process.version}`,
  );
  // Warm-up: JIT, key caches.
  const warmUp = await proofs(500);
  for (const server of servers) await load(server, warmUp);
  for (const server of servers) server.samples.length = 0;

  for (let round = 0; round < rounds; round++) {
    const roundProofs = await proofs(perRound);
    // Interleaved, in a different order each round, so that load from elsewhere spreads over all.
    const order = servers.map((_, index) => (index + round) % servers.length);
    for (const index of order) await load(servers[index]!, roundProofs);
  }
  console.log('configuration         req/s   CPU µs/request   log bytes/request   log lines/request');
  for (const server of servers) {
    const pick = (field: keyof Server['samples'][number]) => median(server.samples.map((sample) => sample[field]));
    console.log(
      `${server.name.padEnd(20)} ${String(Math.round(pick('rps'))).padStart(6)}   ${pick('cpuUsPerRequest').toFixed(0).padStart(14)}   ${pick('logBytesPerRequest').toFixed(0).padStart(17)}   ${pick('logLinesPerRequest').toFixed(2).padStart(17)}`,
    );
  }
  const work = await perRequestWork();
  console.log(
    `per request, in this process: request line ${work.line.toFixed(0)} ns (built, serialised, written to /dev/null), metrics ${work.metrics.toFixed(0)} ns`,
  );
  const cost = await storeInstrumentationCost();
  console.log(
    `store call (memory codes.peek): ${cost.raw.toFixed(0)} ns raw, ${cost.instrumented.toFixed(0)} ns instrumented (+${(cost.instrumented - cost.raw).toFixed(0)} ns)`,
  );
} finally {
  for (const server of servers) server.child.kill('SIGTERM');
  agent.destroy();
}
