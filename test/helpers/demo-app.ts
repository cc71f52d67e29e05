import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { testSigningKeys } from './app.js';
import { freePort } from './net.js';

export const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The demo clients' secrets, as the README prints them. */
export const demoService = { id: 'demo-service', secret: 'demo-service-secret-0123456789abcdef' };
export const demoResourceServer = { id: 'demo-resource-server', secret: 'demo-rs-secret-0123456789abcdef01234' };

export interface DemoApp {
  app: FastifyInstance;
  /** Where it listens, http://127.0.0.1:<port>/oidc. */
  url: string;
  close: () => Promise<void>;
}

/**
 * The real app with the demo clients and users of config/default.json, listening on a free
 * port of 127.0.0.1. `issuer` defaults to where it listens; another value is the proxy mistake
 * (the server believes it lives at a URL its clients do not use).
 */
export async function listenDemoApp(options: { requireNonce?: boolean; issuer?: (url: string) => string } = {}): Promise<DemoApp> {
  const demo = JSON.parse(readFileSync(new URL('config/default.json', `file://${repositoryRoot}`), 'utf8')) as ConfigInput;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/oidc`;
  const config = parseConfig({
    issuer: options.issuer ? options.issuer(url) : url,
    logLevel: 'silent',
    clients: demo.clients,
    users: demo.users,
    dpop: { ...demo.dpop, requireNonce: options.requireNonce ?? false },
  });
  const app = await buildApp({ config, signingKeys: await testSigningKeys(), nonceSecret: Buffer.alloc(32, 9) });
  await app.listen({ port, host: '127.0.0.1' });
  return { app, url, close: () => app.close() };
}

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript entry of this repository as its own Node process (through tsx). */
export function runScript(
  script: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<ProcessResult> {
  const tsx = import.meta.resolve('tsx');
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', tsx, fileURLToPath(new URL(script, `file://${repositoryRoot}`)), ...args],
      { cwd: options.cwd ?? repositoryRoot, env: { ...process.env, ...options.env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}
