import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from 'jose';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { verifyClientAssertion, type ClientAssertionDeps } from '../../src/oauth/client-assertion.js';
import { StaticClientRegistry, type Client } from '../../src/oauth/clients.js';
import { MemoryReplayCache } from '../../src/stores/memory/replay-cache.js';
import { StoreUnavailableError } from '../../src/stores/ports.js';
import { testClock } from '../helpers/app.js';
import { expectOAuthError, StoreRecorder } from '../helpers/protocol.js';

const audience = 'https://op.example.test/oidc/token';
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

let clientKey: PrivateKey;
let strangerKey: PrivateKey;
let client: Client;
beforeAll(async () => {
  const [pair, stranger] = await Promise.all([generateKeyPair('ES256'), generateKeyPair('ES256')]);
  clientKey = pair.privateKey;
  strangerKey = stranger.privateKey;
  const config = parseConfig({
    clients: [
      {
        client_id: 'signed',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), alg: 'ES256' }] },
      },
    ],
  });
  client = new StaticClientRegistry(config.clients).find('signed')!;
});

describe('verifyClientAssertion (RFC 7523 §3, OIDC Core §9 private_key_jwt)', () => {
  let clock: ReturnType<typeof testClock>;
  let recorder: StoreRecorder;
  let deps: ClientAssertionDeps;
  const now = () => Math.floor(clock() / 1000);
  /** An assertion valid now for `signed`; `claims` replace or (as undefined) remove claims. */
  const assertion = (claims: Record<string, unknown> = {}, key: PrivateKey = clientKey, alg = 'ES256') => {
    const payload: Record<string, unknown> = {
      iss: 'signed',
      sub: 'signed',
      aud: audience,
      jti: randomUUID(),
      iat: now(),
      exp: now() + 60,
      ...claims,
    };
    for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
    return new SignJWT(payload as JWTPayload).setProtectedHeader({ alg }).sign(key);
  };
  const refused = (promise: Promise<unknown>, message: string) =>
    expectOAuthError(promise, 'invalid_client', 'client_assertion').then((error) => expect(error.message).toBe(message));

  beforeEach(() => {
    clock = testClock();
    recorder = new StoreRecorder();
    deps = { audiences: [audience], replayCache: recorder.wrap('replay', new MemoryReplayCache(1000, clock)), clock };
  });

  it('accepts an assertion signed by a registered key, and records its jti for the client', async () => {
    await verifyClientAssertion(await assertion(), client, deps);
    expect(recorder.claimOwners).toEqual(['client:signed']);
  });

  it('refuses a jti used before, until the assertion has expired (RFC 7523 §3 item 7)', async () => {
    const once = await assertion({ exp: now() + 60 });
    await verifyClientAssertion(once, client, deps);
    // Within exp plus the clock tolerance, the jti is still remembered.
    clock.advance(64_000);
    await refused(verifyClientAssertion(once, client, deps), 'client assertion has already been used');
  });

  it.each<[string, (nowSeconds: number) => Record<string, unknown>]>([
    ['aud names another server (§3 item 3)', () => ({ aud: 'https://other.example/token' })],
    ['iss is not the client (§3 item 1)', () => ({ iss: 'someone' })],
    ['sub is not the client (§3 item 2)', () => ({ sub: 'someone' })],
    ['it has expired, beyond 5 s of tolerance (§3 item 4)', (nowSeconds) => ({ iat: undefined, exp: nowSeconds - 6 })],
    ['it has no exp (§3 item 4: MUST contain exp)', () => ({ exp: undefined })],
    ['it has no jti', () => ({ jti: undefined })],
    ['it is not yet valid (nbf, §3 item 5)', (nowSeconds) => ({ nbf: nowSeconds + 60 })],
  ])('refuses an assertion whose %s, in the words used for an unknown client', async (_case, claims) => {
    await refused(verifyClientAssertion(await assertion(claims(now())), client, deps), 'client authentication failed');
    expect(recorder.calls()).toEqual([]);
  });

  it('refuses an assertion signed by a key the client did not register (§3 item 9), recording nothing', async () => {
    await refused(verifyClientAssertion(await assertion({}, strangerKey), client, deps), 'client authentication failed');
    expect(recorder.calls()).toEqual([]);
  });

  it('refuses an assertion that lives longer than 300 s, counted from now at the latest for a future iat', async () => {
    await refused(verifyClientAssertion(await assertion({ exp: now() + 301 }), client, deps), 'client assertion lives too long');
    await refused(
      verifyClientAssertion(await assertion({ iat: now() + 3, exp: now() + 301 }), client, deps),
      'client assertion lives too long',
    );
    await verifyClientAssertion(await assertion({ exp: now() + 300 }), client, deps);
  });

  it('bounds an assertion without iat by its exp', async () => {
    await verifyClientAssertion(await assertion({ iat: undefined, exp: now() + 300 }), client, deps);
    await refused(
      verifyClientAssertion(await assertion({ iat: undefined, exp: now() + 301 }), client, deps),
      'client assertion lives too long',
    );
  });

  it('refuses an assertion made before the server started when the replay cache forgets on restart (notBeforeMs)', async () => {
    const started = { ...deps, notBeforeMs: clock() };
    await refused(
      verifyClientAssertion(await assertion({ iat: now() - 1 }), client, started),
      'client assertion was made before the server started; make a new one',
    );
    // Without iat, it could have been made as early as exp - 300 s.
    await refused(
      verifyClientAssertion(await assertion({ iat: undefined, exp: now() + 60 }), client, started),
      'client assertion was made before the server started; make a new one',
    );
    await verifyClientAssertion(await assertion(), client, started);
  });

  it('refuses a jti longer than 256 characters', async () => {
    await refused(verifyClientAssertion(await assertion({ jti: 'j'.repeat(257) }), client, deps), 'client assertion jti is invalid');
  });

  it('refuses a client with no registered keys', async () => {
    await refused(verifyClientAssertion(await assertion(), { ...client, jwks: undefined }, deps), 'client has no registered keys');
  });

  it('answers 429 replay_quota when the client holds its share of the replay cache', async () => {
    const bounded = { ...deps, replayCache: new MemoryReplayCache(1000, clock, { maxEntriesPerOwner: 1 }) };
    await verifyClientAssertion(await assertion(), client, bounded);
    const error = await expectOAuthError(
      verifyClientAssertion(await assertion(), client, bounded),
      'temporarily_unavailable',
      'replay_quota',
    );
    // A Retry-After is what the edge answers as 429 (RFC 6585 §4).
    expect(error.retryAfterSeconds).toBe(300);
  });

  it('fails closed when the replay cache cannot answer', async () => {
    recorder.failNext('replay.claim');
    await expect(verifyClientAssertion(await assertion(), client, deps)).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
