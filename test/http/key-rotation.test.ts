import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { hashClientSecret } from '../../src/users/secret-hash.js';
import { basicAuth, form } from '../helpers/app.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { freePort } from '../helpers/net.js';
import { runKeysCommand, startServerProcess } from '../helpers/key-server-process.js';

const service = { id: 'rotation-service', secret: 'rotation-service-secret-0123456789abcdef' };
const nonceClient = { id: 'rotation-nonce-client', secret: 'rotation-nonce-secret-0123456789abcdef-01' };
const resourceServer = { id: 'rotation-rs', secret: 'rotation-rs-secret-0123456789abcdef-0123' };

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

const now = () => Math.floor(Date.now() / 1000);

/** A provider process on a temp DATA_DIR and a free port, with the requests the tests make to it. */
async function rotationSetup() {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const issuer = `${baseUrl}/oidc`;
  const dir = mkdtempSync(join(tmpdir(), 'dpop-oidc-rotation-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      // Long nonce steps: a nonce from before a rotation is still in its window however slow the machine.
      dpop: { nonceStepSeconds: 3600 },
      clients: [
        {
          client_id: service.id,
          client_secret_hash: hashClientSecret(service.secret),
          grant_types: ['client_credentials'],
          scope: 'api:read',
        },
        {
          client_id: nonceClient.id,
          client_secret_hash: hashClientSecret(nonceClient.secret),
          grant_types: ['client_credentials'],
          scope: 'api:read',
          dpop_require_nonce: true,
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
  const env = {
    CONFIG_FILE: configFile,
    DATA_DIR: join(dir, 'data'),
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: issuer,
    LOG_LEVEL: 'info',
  };
  const key = await makeProofKey();
  const server = await startServerProcess(env, baseUrl, running);

  const tokenResponse = async (client: { id: string; secret: string }, proofKey: ProofKey, nonce?: string) =>
    fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        ...form,
        authorization: basicAuth(client.id, client.secret),
        dpop: await makeProof(proofKey, { htu: `${issuer}/token`, iat: now(), ...(nonce ? { nonce } : {}) }),
      },
      body: 'grant_type=client_credentials',
    });
  const token = async (): Promise<string> => {
    const response = await tokenResponse(service, key);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; token_type: string };
    expect(body.token_type).toBe('DPoP');
    return body.access_token;
  };
  const profile = async (accessToken: string) =>
    fetch(`${issuer}/profile`, {
      headers: {
        authorization: `DPoP ${accessToken}`,
        dpop: await makeProof(key, { htm: 'GET', htu: `${issuer}/profile`, iat: now(), accessToken }),
      },
    });
  const introspect = async (accessToken: string) => {
    const response = await fetch(`${issuer}/introspect`, {
      method: 'POST',
      headers: { ...form, authorization: basicAuth(resourceServer.id, resourceServer.secret) },
      body: `token=${accessToken}`,
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { active: boolean; client_id?: string };
  };
  const jwksKids = async () => {
    const response = await fetch(`${issuer}/jwks`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { keys: Array<{ kid: string; d?: string; state?: string }> }).keys;
  };
  const keys = (...args: string[]) => runKeysCommand(args, env);
  return { issuer, env, key, server, token, tokenResponse, profile, introspect, jwksKids, keys };
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

describe('signing-key rotation on SIGHUP, on a real process (docs/operations.md)', () => {
  it('generate, SIGHUP: both keys published, A still signs; rotate, SIGHUP: B signs and A tokens still verify; retire A, SIGHUP: A tokens are refused', async () => {
    const { env, server, token, profile, introspect, jwksKids, keys } = await rotationSetup();
    const [first] = await jwksKids();
    const kidA = first!.kid;
    const tokenA = await token();
    expect(kidOf(tokenA)).toBe(kidA);

    const generated = await keys('generate');
    expect(generated).toMatchObject({ code: 0, stderr: '' });
    const kidB = /^generated ES256 key (\S+), published: reload every server \(SIGHUP\), wait for JWKS caches, then rotate\n$/.exec(
      generated.stdout,
    )?.[1];
    expect(kidB).toBeDefined();
    // Nothing changes before the signal.
    expect((await jwksKids()).map((jwk) => jwk.kid)).toEqual([kidA]);
    expect(await server.reload()).toMatchObject({ level: 30, activeKid: kidA, publishedKids: [kidB] });
    const published = await jwksKids();
    expect(published.map((jwk) => jwk.kid)).toEqual([kidA, kidB]);
    expect(published.every((jwk) => jwk.d === undefined && jwk.state === undefined)).toBe(true);
    expect(kidOf(await token())).toBe(kidA);

    expect(await keys('rotate')).toMatchObject({
      code: 0,
      stdout: `${kidB} is active, ${kidA} stays published: reload every server (SIGHUP); retire ${kidA} once the tokens it signed have expired\n`,
    });
    expect(await server.reload()).toMatchObject({ level: 30, activeKid: kidB, publishedKids: [kidA] });
    const tokenB = await token();
    expect(kidOf(tokenB)).toBe(kidB);
    expect((await jwksKids()).map((jwk) => jwk.kid)).toEqual([kidA, kidB]);
    // The token signed before the switch still verifies, at the profile endpoint and at introspection.
    expect((await profile(tokenA)).status).toBe(200);
    expect(await introspect(tokenA)).toMatchObject({ active: true, client_id: service.id });
    expect((await profile(tokenB)).status).toBe(200);

    expect(await keys('retire', kidB!)).toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`${kidB} is the active key; rotate to another key first`),
    });
    expect(await keys('retire', kidA)).toMatchObject({
      code: 0,
      stdout: `retired ${kidA}: reload every server (SIGHUP); tokens it signed no longer verify\n`,
    });
    expect(await server.reload()).toMatchObject({ level: 30, activeKid: kidB, publishedKids: [] });
    expect((await jwksKids()).map((jwk) => jwk.kid)).toEqual([kidB]);
    const refused = await profile(tokenA);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_token');
    expect(refused.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token", error_description="access token is invalid"/);
    expect(await introspect(tokenA)).toEqual({ active: false });
    expect((await profile(tokenB)).status).toBe(200);

    // A damaged key file at a SIGHUP: one error line, the keys in use stay.
    writeFileSync(join(env.DATA_DIR, 'signing-keys.json'), '{"keys": [');
    expect(await server.reload()).toMatchObject({ level: 50, reason: expect.stringMatching(/signing-keys\.json: not JSON: /) });
    expect(kidOf(await token())).toBe(kidB);
    expect((await profile(tokenB)).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 90_000);

  it('requests sent without pause while SIGHUPs reload the keys all succeed', async () => {
    const { issuer, key, server, token, tokenResponse, profile, keys } = await rotationSetup();
    const accessToken = await token();
    let stop = false;
    const statuses: Array<{ kind: string; status: number }> = [];
    const deadline = Date.now() + 45_000;
    // Three clients in parallel, each at most 200 requests: token requests, profile calls, JWKS fetches.
    const requests = [
      async () => ({ kind: 'token', status: (await tokenResponse(service, key)).status }),
      async () => ({ kind: 'profile', status: (await profile(accessToken)).status }),
      async () => ({ kind: 'jwks', status: (await fetch(`${issuer}/jwks`)).status }),
    ];
    const worker = async (offset: number) => {
      for (let count = 0; count < 200 && !stop && Date.now() < deadline; count++) statuses.push(await requests[(count + offset) % 3]!());
    };
    const workers = [0, 1, 2].map(worker);
    const reloads: Array<Record<string, unknown>> = [];
    expect((await keys('generate')).code).toBe(0);
    reloads.push(await server.reload());
    expect((await keys('rotate')).code).toBe(0);
    reloads.push(await server.reload());
    expect((await keys('rotate-nonce-secret')).code).toBe(0);
    reloads.push(await server.reload());
    for (let round = 0; round < 3; round++) reloads.push(await server.reload());
    const duringReloads = statuses.length;
    stop = true;
    await Promise.all(workers);
    expect(reloads.map((line) => line.level)).toEqual([30, 30, 30, 30, 30, 30]);
    expect(duringReloads).toBeGreaterThan(20);
    expect(statuses.filter(({ status }) => status !== 200)).toEqual([]);
    // The token issued before the rotation kept working through it.
    expect(statuses.filter(({ kind }) => kind === 'profile').length).toBeGreaterThan(5);
  }, 90_000);

  it('a nonce issued before rotate-nonce-secret and a SIGHUP is accepted after it; after a second rotation it is refused', async () => {
    const { server, tokenResponse, keys } = await rotationSetup();
    const proofKey = await makeProofKey();
    const challenge = await tokenResponse(nonceClient, proofKey);
    expect(challenge.status).toBe(400);
    expect(((await challenge.json()) as { error: string }).error).toBe('use_dpop_nonce');
    const nonceBefore = challenge.headers.get('dpop-nonce')!;
    expect(nonceBefore).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);

    expect(await keys('rotate-nonce-secret')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(
        /^rotated the nonce secret in \S+nonce-secret; the previous one is accepted until the next rotation: reload every server \(SIGHUP\)\n$/,
      ),
    });
    expect(await server.reload()).toMatchObject({ level: 30, nonceSecrets: 2 });
    const accepted = await tokenResponse(nonceClient, proofKey, nonceBefore);
    expect(accepted.status).toBe(200);
    const nonceAfter = accepted.headers.get('dpop-nonce')!;
    // Same step, same key: only the secret differs.
    expect(nonceAfter.split('.')[0]).toBe(nonceBefore.split('.')[0]);
    expect(nonceAfter).not.toBe(nonceBefore);
    expect((await tokenResponse(nonceClient, proofKey, nonceAfter)).status).toBe(200);

    expect((await keys('rotate-nonce-secret')).code).toBe(0);
    await server.reload();
    const refused = await tokenResponse(nonceClient, proofKey, nonceBefore);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'use_dpop_nonce', error_description: 'DPoP proof nonce is invalid or stale' });
    expect(refused.headers.get('dpop-nonce')).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    const refusals = await server.logged((line) => (line.oauthError as { reason?: string } | undefined)?.reason === 'nonce', 2);
    // One request line per refusal: the first request without a nonce, then the stale nonce.
    expect(refusals.map((line) => (line.oauthError as { error: string }).error)).toEqual(['use_dpop_nonce', 'use_dpop_nonce']);
    // The nonce of one rotation back still passes.
    expect((await tokenResponse(nonceClient, proofKey, nonceAfter)).status).toBe(200);
  }, 90_000);
});
