/**
 * Load benchmark of the hot paths, over a real socket against a separate server process:
 *   npx tsx bench/run.ts [requests-per-scenario=3000] [concurrency=16]
 * The server runs from src/ (tsx) with the demo config, LOG_LEVEL=warn, DPoP nonces off.
 * Proofs are made before each scenario starts, so the load generator spends its time sending,
 * not signing. Prints requests per second and latency percentiles per scenario.
 * Bounded: a fixed number of requests to 127.0.0.1 only, then it stops the server.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { accessTokenHash } from '../src/dpop/thumbprint.js';

const total = Number(process.argv[2] ?? 3000);
const concurrency = Number(process.argv[3] ?? 16);
const basic = `Basic ${Buffer.from('demo-service:demo-service-secret-0123456789abcdef').toString('base64')}`;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
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

interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

async function run(name: string, port: number, calls: Call[]): Promise<void> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls.length) {
        const call = calls[next++]!;
        const t0 = performance.now();
        const status = await send(port, call.method, call.path, call.headers, call.body);
        latencies.push(performance.now() - t0);
        if (status !== 200) failures++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(2);
  console.log(
    `${name.padEnd(34)} ${String(Math.round(calls.length / seconds)).padStart(6)} req/s   p50 ${pct(50)} ms   p99 ${pct(99)} ms   non-200: ${failures}`,
  );
}

const port = await freePort();
const issuer = `http://127.0.0.1:${port}/oidc`;
const server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
  env: {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: issuer,
    LOG_LEVEL: 'warn',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'bench-')),
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
try {
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await send(port, 'GET', '/healthz', {}).catch(() => 0)) === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const proof = (htm: string, htu: string, extra: Record<string, string> = {}) =>
    new SignJWT({ jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000), ...extra })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
      .sign(privateKey);
  const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic };
  const body = 'grant_type=client_credentials';

  console.log(`${total} requests per scenario, concurrency ${concurrency}, Node ${process.version}`);
  // Warm-up: JIT, key caches.
  await run(
    'warm-up (Bearer token)',
    port,
    Array.from({ length: 500 }, () => ({ method: 'POST', path: '/oidc/token', headers: form, body })),
  );

  await run(
    'token, client_credentials, Bearer',
    port,
    Array.from({ length: total }, () => ({ method: 'POST', path: '/oidc/token', headers: form, body })),
  );

  const tokenProofs = await Promise.all(Array.from({ length: total }, () => proof('POST', `${issuer}/token`)));
  await run(
    'token, client_credentials, DPoP',
    port,
    tokenProofs.map((dpop) => ({ method: 'POST', path: '/oidc/token', headers: { ...form, dpop }, body })),
  );

  const tokenResponse = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { ...form, dpop: await proof('POST', `${issuer}/token`) },
    body,
  });
  const accessToken = ((await tokenResponse.json()) as { access_token: string }).access_token;
  const ath = accessTokenHash(accessToken);
  const profileProofs = await Promise.all(Array.from({ length: total }, () => proof('GET', `${issuer}/profile`, { ath })));
  await run(
    'profile, DPoP',
    port,
    profileProofs.map((dpop) => ({ method: 'GET', path: '/oidc/profile', headers: { authorization: `DPoP ${accessToken}`, dpop } })),
  );

  const rs = `Basic ${Buffer.from('demo-resource-server:demo-rs-secret-0123456789abcdef01234').toString('base64')}`;
  await run(
    'introspection',
    port,
    Array.from({ length: total }, () => ({
      method: 'POST',
      path: '/oidc/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: rs },
      body: `token=${accessToken}`,
    })),
  );
} finally {
  server.kill('SIGTERM');
  agent.destroy();
}
