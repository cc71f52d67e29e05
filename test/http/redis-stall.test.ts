import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createStores } from '../../src/stores/create-stores.js';
import { createRedisClient } from '../../src/stores/redis/client.js';
import { defaultTestClients, issuer, makeTestApp, testClock, type TestApp } from '../helpers/app.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { introspect, refreshRequest, spaTokens, type UserTokens } from '../helpers/endpoints.js';

/**
 * A Redis that stops answering for a few seconds (a failover, a long fork, a paused VM) while
 * users refresh. Each refresh times out (503 after the 1 s command timeout), yet Redis runs the
 * queued commands when it resumes, rotations included; the client's retry with the same token
 * and key must then be its holder's retry, not reuse that signs the user out.
 */
const port = 6391;
const users = 12;
const pauseMs = 4000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startRedis(): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const client = createRedisClient(`redis://127.0.0.1:${port}`);
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        await client.connect();
        await client.ping();
        return child;
      } catch {
        client.disconnect();
        await sleep(100);
      }
    }
    throw new Error(`redis-server on port ${port} did not start`);
  } finally {
    client.disconnect();
  }
}

describe(`a ${pauseMs / 1000} s Redis stall while ${users} signed-in users refresh`, () => {
  let redis: ChildProcess;
  let t: TestApp;
  /** When set, the next rotation stops Redis just before its command is sent. */
  let stopOnNextRotation = false;
  let stoppedAt = 0;

  beforeAll(async () => {
    redis = await startRedis();
    const clock = testClock();
    const config = parseConfig({
      issuer,
      clients: defaultTestClients(),
      store: { type: 'redis', redisUrl: `redis://127.0.0.1:${port}`, keyPrefix: `stall-${randomBytes(4).toString('hex')}:` },
    });
    const stores = await createStores(config.store, { replayCacheMaxEntries: 1000 }, clock);
    const refreshTokens = stores.refreshTokens;
    // The real Redis store; only the moment of the stall is chosen, so that at least one
    // rotation is surely in flight when Redis stops (a random moment often finds none).
    stores.refreshTokens = {
      create: (familyId, family) => refreshTokens.create(familyId, family),
      find: (familyId) => refreshTokens.find(familyId),
      rotate: (familyId, presentedHash, next) => {
        if (stopOnNextRotation) {
          stopOnNextRotation = false;
          redis.kill('SIGSTOP');
          stoppedAt = Date.now();
        }
        return refreshTokens.rotate(familyId, presentedHash, next);
      },
    };
    // Twelve sign-ins from one test address: above the default sign-in rate limit.
    t = await makeTestApp({ store: config.store, http: { loginAttemptsPerMinute: 100 } }, { clock, stores });
  });
  afterAll(async () => {
    await t?.app.close();
    redis?.kill('SIGCONT');
    redis?.kill('SIGKILL');
  });

  it('lets every user keep their grant: the retry with the same token and key is answered; another key still revokes', async () => {
    const keys: ProofKey[] = await Promise.all(Array.from({ length: users }, () => makeProofKey()));
    const signedIn: UserTokens[] = [];
    for (const key of keys) signedIn.push(await spaTokens(t, key));

    stopOnNextRotation = true;
    const during: LightMyRequestResponse[] = await Promise.all(
      keys.map((key, user) => refreshRequest(t, signedIn[user]!.refresh_token!, key)),
    );
    const timedOut = during.filter((response) => response.statusCode === 503);
    // The rotation that stopped Redis, at least, timed out; no request was answered otherwise.
    expect(timedOut.length).toBeGreaterThanOrEqual(1);
    for (const response of during) expect([200, 503]).toContain(response.statusCode);
    for (const response of timedOut)
      expect(response.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'try again later' });

    await sleep(Math.max(0, stoppedAt + pauseMs - Date.now()));
    redis.kill('SIGCONT');

    const retried: UserTokens[] = [];
    const latest: UserTokens[] = [];
    const lost: string[] = [];
    for (const [user, key] of keys.entries()) {
      // The client retries what timed out, with the same refresh token and the same proof key.
      const answered = during[user]!.statusCode === 200 ? during[user]! : await refreshRequest(t, signedIn[user]!.refresh_token!, key);
      // And the grant lives on: the successor refreshes as usual.
      const next = answered.statusCode === 200 ? await refreshRequest(t, answered.json().refresh_token, key) : undefined;
      if (answered.statusCode !== 200 || next?.statusCode !== 200) {
        lost.push(`user ${user}: retry ${answered.statusCode} ${answered.body}, then ${next?.statusCode} ${next?.body}`);
        continue;
      }
      expect((await introspect(t, answered.json().access_token)).active).toBe(true);
      retried.push(answered.json());
      latest.push(next.json());
    }
    expect(lost, `${timedOut.length} of ${users} refreshes timed out`).toEqual([]);

    // Reuse by another key is still reuse, within the grace too: the token the first user's
    // latest one replaced, presented with another key, revokes that grant.
    const stolen = await refreshRequest(t, retried[0]!.refresh_token!, await makeProofKey());
    expect(stolen.statusCode).toBe(400);
    expect(stolen.json()).toEqual({ error: 'invalid_grant', error_description: 'refresh token was already used; the grant is revoked' });
    expect(await introspect(t, latest[0]!.access_token)).toEqual({ active: false });
    expect((await refreshRequest(t, latest[0]!.refresh_token!, keys[0]!)).json().error).toBe('invalid_grant');
    // The others are untouched.
    for (const tokens of latest.slice(1)) expect((await introspect(t, tokens.access_token)).active).toBe(true);
  }, 60_000);
});
