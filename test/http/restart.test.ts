import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashClientSecret } from '../../src/users/secret-hash.js';
import { basicAuth, form } from '../helpers/app.js';
import { makeProof, makeProofKey } from '../helpers/dpop.js';
import { freePort } from '../helpers/net.js';

const service = { id: 'restart-service', secret: 'restart-service-secret-0123456789abcdef' };
const resourceServer = { id: 'restart-rs', secret: 'restart-rs-secret-0123456789abcdef-0123' };

interface Server {
  kill: (signal: NodeJS.Signals) => void;
  exited: Promise<number | null>;
  logLines: () => Array<Record<string, unknown>>;
}

/**
 * The provider as a real process (src/main.ts through tsx), on the embedded memory store, with
 * its own config file and data directory: what a restart keeps is what is on disk.
 */
async function startServer(env: Record<string, string>, baseUrl: string): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  running.push(child);
  let ready = false;
  for (let attempt = 0; attempt < 150 && !ready && child.exitCode === null; attempt++) {
    ready = (await fetch(`${baseUrl}/healthz`).catch(() => undefined))?.status === 200;
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!ready) throw new Error(`the server did not start: ${stderr}`);
  return {
    kill: (signal) => child.kill(signal),
    exited,
    logLines: () =>
      stdout
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const running: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Waits until the clock is in a later second than `iatSeconds`, so a process started now starts after it. */
async function untilSecondAfter(iatSeconds: number): Promise<void> {
  while (Math.floor(Date.now() / 1000) <= iatSeconds) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** `find()` once it answers, polling for up to two seconds; undefined if it never does. */
async function eventually<T>(find: () => T | undefined): Promise<T | undefined> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

describe('a restart of the embedded default keeps revocations and refuses earlier proofs', () => {
  it('a token revoked before a restart (SIGTERM, then SIGKILL right after a revocation) stays revoked; a proof seen before is refused', async () => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const issuer = `${baseUrl}/oidc`;
    const dir = mkdtempSync(join(tmpdir(), 'dpop-oidc-restart-'));
    const dataDir = join(dir, 'data');
    const configFile = join(dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        clients: [
          {
            client_id: service.id,
            client_secret_hash: hashClientSecret(service.secret),
            grant_types: ['client_credentials'],
            scope: 'api:read',
          },
          {
            client_id: resourceServer.id,
            client_secret_hash: hashClientSecret(resourceServer.secret),
            grant_types: [],
            introspection_allowed: true,
          },
        ],
      }),
    );
    const env = { CONFIG_FILE: configFile, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', ISSUER: issuer, LOG_LEVEL: 'info' };
    const key = await makeProofKey();
    const now = () => Math.floor(Date.now() / 1000);

    const token = async (): Promise<string> => {
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          ...form,
          authorization: basicAuth(service.id, service.secret),
          dpop: await makeProof(key, { htu: `${issuer}/token`, iat: now() }),
        },
        body: 'grant_type=client_credentials',
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { access_token: string; token_type: string };
      expect(body.token_type).toBe('DPoP');
      return body.access_token;
    };
    const profileProof = (accessToken: string) => makeProof(key, { htm: 'GET', htu: `${issuer}/profile`, iat: now(), accessToken });
    const profile = (accessToken: string, proof: string) =>
      fetch(`${issuer}/profile`, { headers: { authorization: `DPoP ${accessToken}`, dpop: proof } });
    const revoke = (accessToken: string) =>
      fetch(`${issuer}/revoke`, {
        method: 'POST',
        headers: { ...form, authorization: basicAuth(service.id, service.secret) },
        body: `token=${accessToken}&token_type_hint=access_token`,
      });
    const introspect = async (accessToken: string) => {
      const response = await fetch(`${issuer}/introspect`, {
        method: 'POST',
        headers: { ...form, authorization: basicAuth(resourceServer.id, resourceServer.secret) },
        body: `token=${accessToken}`,
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { active: boolean }).active;
    };
    const expectRevoked = async (accessToken: string) => {
      const response = await profile(accessToken, await profileProof(accessToken));
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: string }).error).toBe('invalid_token');
      expect(response.headers.get('www-authenticate')).toMatch(
        /^DPoP error="invalid_token", error_description="access token has been revoked"/,
      );
      expect(await introspect(accessToken)).toBe(false);
    };

    // First run: one token revoked, one in use with a proof the server has seen.
    const first = await startServer(env, baseUrl);
    const revokedToken = await token();
    const liveToken = await token();
    const seenProof = await profileProof(liveToken);
    expect((await profile(liveToken, seenProof)).status).toBe(200);
    expect((await revoke(revokedToken)).status).toBe(200);
    await expectRevoked(revokedToken);
    expect(await introspect(liveToken)).toBe(true);
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // Second run on the same DATA_DIR, started in a later second than the seen proof's iat.
    await untilSecondAfter(now());
    const second = await startServer(env, baseUrl);
    await expectRevoked(revokedToken);
    const replay = await profile(liveToken, seenProof);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_dpop_proof');
    expect(replay.headers.get('www-authenticate')).toMatch(
      /^DPoP error="invalid_dpop_proof", error_description="DPoP proof was made before the server started; make a new one"/,
    );
    // The request's line is written once the answer is sent: it may arrive just after it.
    const refusal = await eventually(() =>
      second.logLines().find((line) => (line.oauthError as { reason?: string } | undefined)?.reason === 'iat'),
    );
    expect(refusal).toBeDefined();
    // The signing key survived too: the live token still works with a new proof.
    expect((await profile(liveToken, await profileProof(liveToken))).status).toBe(200);
    expect(await introspect(liveToken)).toBe(true);

    // A revocation answered 200 survives a crash right after it.
    const crashToken = await token();
    expect((await revoke(crashToken)).status).toBe(200);
    second.kill('SIGKILL');
    await second.exited;
    expect(existsSync(join(dataDir, 'revoked.json'))).toBe(true);

    const third = await startServer(env, baseUrl);
    await expectRevoked(crashToken);
    await expectRevoked(revokedToken);
    expect((await profile(liveToken, await profileProof(liveToken))).status).toBe(200);
    third.kill('SIGTERM');
    expect(await third.exited).toBe(0);
    // Three process starts: generous on a loaded machine; a hang still fails.
  }, 90_000);
});
