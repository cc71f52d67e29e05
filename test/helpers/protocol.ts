import type { MaybePromise } from '../../src/lib/maybe-promise.js';
import { expect } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { DpopNonces } from '../../src/dpop/nonce.js';
import { DpopProofVerifier, type DpopVerifierSettings } from '../../src/dpop/verify-proof.js';
import type { ClientAssertionDeps } from '../../src/oauth/client-assertion.js';
import { StaticClientRegistry } from '../../src/oauth/clients.js';
import { OAuthError, type OAuthErrorCode } from '../../src/lib/oauth-error.js';
import { authorizationCodeGrant } from '../../src/oauth/grants/authorization-code.js';
import { clientCredentialsGrant } from '../../src/oauth/grants/client-credentials.js';
import { refreshTokenGrant } from '../../src/oauth/grants/refresh-token.js';
import type { UserTokenDeps } from '../../src/oauth/grants/user-tokens.js';
import { handleTokenRequest, type TokenEndpointDeps } from '../../src/oauth/token-endpoint.js';
import { MemoryCodeStore } from '../../src/stores/memory/code-store.js';
import { MemoryGrantStore } from '../../src/stores/memory/grant-store.js';
import { MemoryRefreshTokenStore } from '../../src/stores/memory/refresh-token-store.js';
import { MemoryReplayCache } from '../../src/stores/memory/replay-cache.js';
import { MemoryRevokedTokens } from '../../src/stores/memory/revoked-tokens.js';
import { StoreUnavailableError, type AuthorizationCodeRecord } from '../../src/stores/ports.js';
import { issueAccessToken, verifyAccessToken, type AccessTokenGrant } from '../../src/tokens/access-token.js';
import { issueIdToken } from '../../src/tokens/id-token.js';
import { newOpaqueToken, hashOpaque } from '../../src/tokens/opaque.js';
import { alice, basicAuth, defaultTestClients, issuer, spaRedirect, testClock, testSigningKeys, webClient, webRedirect } from './app.js';
import { pkcePair } from './browser.js';
import { makeProof, type ProofKey, type ProofOptions } from './dpop.js';
import { defaultVerifierSettings, tokenUrl, resourceUrl } from './dpop-verifier.js';

/**
 * Awaits a refusal and asserts its OAuthError `code` and `reason` exactly, so that a test cannot
 * pass for another failure with the same code. Returns the error for further checks.
 */
export async function expectOAuthError(
  promise: MaybePromise<unknown>,
  code: OAuthErrorCode,
  reason: string | undefined,
): Promise<OAuthError> {
  // A protocol function may answer at once (src/lib/maybe-promise.ts); its refusals reject.
  const error: unknown = await Promise.resolve(promise).then(
    () => expect.fail(`expected a refusal (${code}, ${String(reason)}), but the call succeeded`),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OAuthError);
  const oauthError = error as OAuthError;
  expect({ code: oauthError.code, reason: oauthError.reason }).toEqual({ code, reason });
  return oauthError;
}

/**
 * The `reason` of the last refusal the app logged (tests capture log lines with `t.logs()`): the
 * last line carrying `"reason":"..."`. Read right after the refused request, it is that request's.
 */
export function lastReason(t: { logs: () => string }): string | undefined {
  const lines = t.logs().trim().split('\n');
  for (let index = lines.length - 1; index >= 0; index--) {
    const match = /"reason":"((?:[^"\\]|\\.)*)"/.exec(lines[index]!);
    if (match) return JSON.parse(`"${match[1]}"`) as string;
  }
  return undefined;
}

/**
 * Wraps a real adapter so that each call of one of its methods is appended to `events` as
 * `name.method` (before it runs), and so that `failNext('name.method')` makes that method's next
 * call throw StoreUnavailableError, as a Redis timeout would, and `pauseNext` holds one. Everything
 * else is the adapter's.
 */
export class StoreRecorder {
  readonly events: string[] = [];
  /** Owners of the replay-cache claims, in order. */
  readonly claimOwners: string[] = [];
  private readonly failing = new Set<string>();
  private readonly paused = new Map<string, { reach: () => void; released: Promise<void> }>();

  failNext(call: string): void {
    this.failing.add(call);
  }

  /**
   * Holds the next call of `call` before it reaches the adapter: `reached` resolves when it is
   * held, `release()` lets it go on. For making two requests interleave at a chosen step.
   */
  pauseNext(call: string): { reached: Promise<void>; release: () => void } {
    let reach!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => (reach = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.paused.set(call, { reach, released });
    return { reached, release };
  }

  /** The recorded calls of `name` (e.g. 'codes'), or every call when none is given. */
  calls(name?: string): string[] {
    return name === undefined ? [...this.events] : this.events.filter((event) => event.startsWith(`${name}.`));
  }

  clear(): void {
    this.events.length = 0;
    this.claimOwners.length = 0;
  }

  wrap<T extends object>(name: string, target: T): T {
    return new Proxy(target, {
      get: (object, property, receiver) => {
        const value: unknown = Reflect.get(object, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        const call = `${name}.${property}`;
        return (...args: unknown[]) => {
          this.events.push(call);
          if (call === 'replay.claim') this.claimOwners.push(String(args[2]));
          if (this.failing.delete(call)) return Promise.reject(new StoreUnavailableError(`${call}: timeout`));
          const invoke = () => (value as (...callArgs: unknown[]) => unknown).apply(object, args);
          const pause = this.paused.get(call);
          if (!pause) return invoke();
          this.paused.delete(call);
          pause.reach();
          return pause.released.then(invoke);
        };
      },
    });
  }
}

/** Index of the first recorded `call`, or -1. */
export function firstIndex(events: readonly string[], call: string): number {
  return events.indexOf(call);
}

/** The writes the token endpoint may make, to check that a refused request made none. */
export const storeWrites = [
  'codes.consume',
  'codes.save',
  'grants.create',
  'grants.addAccessToken',
  'grants.revoke',
  'refresh.create',
  'refresh.rotate',
  'revoked.revoke',
];

export interface ProtocolFixtureOptions {
  /** refreshToken.reuseGraceSeconds (default 60). */
  reuseGraceSeconds?: number;
  maxLiveAccessTokensPerGrant?: number;
  requireNonce?: boolean;
  clients?: NonNullable<ConfigInput['clients']>;
  verifierSettings?: Partial<DpopVerifierSettings>;
  /** Replay-cache entries one owner may hold. */
  replayCacheMaxEntriesPerOwner?: number;
}

export const accessTokenTtlSeconds = 600;
export const refreshTokenTtlSeconds = 14 * 86_400;
export const codeTtlMs = 60_000;

/**
 * The protocol layer as app.ts wires it, without Fastify: the real memory adapters (recorded,
 * see StoreRecorder), real signing keys, the real DpopProofVerifier and nonces, all on one
 * injected clock. `token()` calls handleTokenRequest as the route would.
 */
export async function protocolFixture(options: ProtocolFixtureOptions = {}) {
  const clock = testClock();
  const recorder = new StoreRecorder();
  const keys = await testSigningKeys();
  const revoked = recorder.wrap('revoked', new MemoryRevokedTokens(10_000, clock));
  const replayCache = recorder.wrap(
    'replay',
    new MemoryReplayCache(
      10_000,
      clock,
      options.replayCacheMaxEntriesPerOwner === undefined ? {} : { maxEntriesPerOwner: options.replayCacheMaxEntriesPerOwner },
    ),
  );
  const codes = recorder.wrap('codes', new MemoryCodeStore(10_000, clock));
  const grants = recorder.wrap('grants', new MemoryGrantStore(10_000, clock, revoked));
  const refreshTokens = recorder.wrap('refresh', new MemoryRefreshTokenStore(10_000, clock));
  const nonces = new DpopNonces(Buffer.from('protocol-test-nonce-secret-0123456789abcdef'), 60, clock);
  const verifier = new DpopProofVerifier({ ...defaultVerifierSettings, ...options.verifierSettings }, { replayCache, nonces, clock });
  const config = parseConfig({ issuer, clients: options.clients ?? defaultTestClients() });
  const clients = new StaticClientRegistry(config.clients);
  const issue = (grant: AccessTokenGrant) =>
    issueAccessToken(grant, { keys, settings: { issuer, audience: issuer, ttlSeconds: accessTokenTtlSeconds }, clock });
  const verifyToken = (token: string) => verifyAccessToken(token, { keys, issuer, clock, revoked });
  const userTokenDeps: UserTokenDeps = {
    issueAccessToken: issue,
    issueIdToken: (input) => issueIdToken(input, { keys, issuer, ttlSeconds: 600, clock }),
    grants,
    refreshTokens,
    revoked,
    clock,
    refreshTokenTtlMs: refreshTokenTtlSeconds * 1000,
    reuseGraceMs: (options.reuseGraceSeconds ?? 60) * 1000,
    maxLiveAccessTokensPerGrant: options.maxLiveAccessTokensPerGrant ?? 32,
  };
  const assertions: ClientAssertionDeps = { audiences: [issuer, tokenUrl], replayCache, clock };
  const tokenDeps: TokenEndpointDeps = {
    clients,
    assertions,
    verifier,
    nonces,
    grants: {
      client_credentials: clientCredentialsGrant({ issueAccessToken: issue }),
      authorization_code: authorizationCodeGrant({ ...userTokenDeps, codes, grantTtlMs: refreshTokenTtlSeconds * 1000 }),
      refresh_token: refreshTokenGrant(userTokenDeps),
    },
    tokenUrl,
    requireNonce: options.requireNonce ?? false,
  };

  /** A proof for the token endpoint, made now, by `key`. */
  const proof = (key: ProofKey, proofOptions: Partial<ProofOptions> = {}) =>
    makeProof(key, { htu: tokenUrl, iat: clock() / 1000, ...proofOptions });
  /** A proof for the profile endpoint carrying `ath` of `accessToken`. */
  const resourceProof = (key: ProofKey, accessToken: string, proofOptions: Partial<ProofOptions> = {}) =>
    makeProof(key, { htm: 'GET', htu: resourceUrl, iat: clock() / 1000, accessToken, ...proofOptions });

  /** handleTokenRequest with the given form parameters; `dpop` is a proof, or a key to make a fresh one with. */
  const token = async (params: Record<string, string | undefined>, request: { dpop?: ProofKey | string; authorization?: string } = {}) => {
    const dpop = typeof request.dpop === 'string' ? request.dpop : request.dpop ? await proof(request.dpop) : undefined;
    return handleTokenRequest({ params, authorization: request.authorization, dpopHeaders: dpop === undefined ? [] : [dpop] }, tokenDeps);
  };

  /** Saves a code for alice as the authorization endpoint would (PKCE S256 for `spa` unless overridden), then clears the recorder. */
  const saveCode = async (record: Partial<AuthorizationCodeRecord> = {}) => {
    const code = newOpaqueToken();
    const { verifier: codeVerifier, challenge } = pkcePair();
    const saved: AuthorizationCodeRecord = {
      clientId: 'spa',
      redirectUri: spaRedirect,
      scopes: ['openid', 'profile', 'offline_access'],
      sub: alice.sub,
      authTime: Math.floor(clock() / 1000),
      nonce: 'nonce-456',
      codeChallenge: challenge,
      dpopJkt: undefined,
      grantId: newOpaqueToken(16),
      ...record,
    };
    await codes.save(hashOpaque(code), saved, codeTtlMs);
    // What a test looks at starts after the authorization endpoint's part.
    recorder.clear();
    return { code, codeVerifier, record: saved };
  };
  /** The code exchange parameters of `spa` (a public client). */
  const spaExchange = (code: string, codeVerifier: string) => ({
    grant_type: 'authorization_code',
    code,
    code_verifier: codeVerifier,
    client_id: 'spa',
    redirect_uri: spaRedirect,
  });
  /** The code exchange parameters of `web` (confidential, client_secret_basic; the code has no challenge). */
  const webExchange = (code: string) => ({ grant_type: 'authorization_code', code, redirect_uri: webRedirect });
  const webAuthorization = basicAuth(webClient.id, webClient.secret);
  /** Whether the code is still unused. */
  const codeUsed = async (code: string) => (await codes.peek(hashOpaque(code)))?.used;

  return {
    clock,
    recorder,
    keys,
    revoked,
    replayCache,
    codes,
    grants,
    refreshTokens,
    nonces,
    verifier,
    clients,
    issue,
    verifyToken,
    userTokenDeps,
    assertions,
    tokenDeps,
    proof,
    resourceProof,
    token,
    saveCode,
    spaExchange,
    webExchange,
    webAuthorization,
    codeUsed,
  };
}

export type ProtocolFixture = Awaited<ReturnType<typeof protocolFixture>>;
