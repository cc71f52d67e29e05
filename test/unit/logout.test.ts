import { beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { StaticClientRegistry } from '../../src/oauth/clients.js';
import { endSession, logoutCsrf, type LogoutDeps, type LogoutOutcome } from '../../src/oauth/logout.js';
import { MemorySessionStore } from '../../src/stores/memory/session-store.js';
import { hashOpaque } from '../../src/tokens/opaque.js';
import { defaultTestClients, issuer, testClock } from '../helpers/app.js';

const signedOut = 'https://spa.example.test/signed-out';

describe('endSession: RP-Initiated Logout 1.0', () => {
  let deps: LogoutDeps & { sessions: MemorySessionStore };
  const cookie = 'alice-session-cookie';
  beforeEach(async () => {
    const clock = testClock();
    deps = {
      sessions: new MemorySessionStore(100, clock),
      clients: new StaticClientRegistry(parseConfig({ issuer, clients: defaultTestClients() }).clients),
      // Stands in for the ID token check (tested with real tokens in test/http/logout.test.ts).
      verifyIdTokenHint: async (token) =>
        token === 'hint-alice' ? { sub: 'user-alice', aud: 'spa' } : token === 'hint-bob' ? { sub: 'user-bob', aud: 'spa' } : undefined,
    };
    await deps.sessions.create({ id: hashOpaque(cookie), sub: 'user-alice', authTime: 1 }, 60_000);
  });
  const signedIn = async () => (await deps.sessions.find(hashOpaque(cookie))) !== undefined;
  const run = (
    params: Record<string, string>,
    method: 'GET' | 'POST' = 'GET',
    sessionCookie: string | undefined = cookie,
  ): Promise<LogoutOutcome> => endSession({ params, method, sessionCookie }, deps);

  it('signs out at once when no one is signed in, clearing a cookie only when one was sent', async () => {
    const params = { client_id: 'spa', post_logout_redirect_uri: signedOut, state: 's' };
    expect(await endSession({ params, method: 'GET', sessionCookie: undefined }, deps)).toEqual({
      kind: 'signed_out',
      redirectTo: `${signedOut}?state=s`,
      clearSessionCookie: false,
    });
    expect(await run({}, 'GET', 'unknown-cookie')).toEqual({ kind: 'signed_out', redirectTo: undefined, clearSessionCookie: true });
    expect(await signedIn()).toBe(true);
  });

  it('asks to confirm without a hint, with a CSRF token derived from the session cookie; the session stays', async () => {
    const outcome = await run({ client_id: 'spa', post_logout_redirect_uri: signedOut, state: 's' });
    expect(outcome.kind).toBe('confirm');
    if (outcome.kind !== 'confirm') return;
    expect(outcome.confirmation).toMatchObject({ csrf: logoutCsrf(cookie), redirectUri: signedOut, state: 's', idTokenHint: undefined });
    expect(outcome.confirmation.client?.client_id).toBe('spa');
    expect(logoutCsrf(cookie)).not.toBe(hashOpaque(cookie));
    expect(await signedIn()).toBe(true);
  });

  it('signs out on the confirmation POST with its CSRF token, and ends the session', async () => {
    expect(await run({ csrf: logoutCsrf(cookie) }, 'POST')).toEqual({
      kind: 'signed_out',
      redirectTo: undefined,
      clearSessionCookie: true,
    });
    expect(await signedIn()).toBe(false);
  });

  it('does not sign out on a GET carrying the CSRF token, nor on a POST with another one', async () => {
    expect((await run({ csrf: logoutCsrf(cookie) }, 'GET')).kind).toBe('confirm');
    expect((await run({ csrf: logoutCsrf('another-cookie') }, 'POST')).kind).toBe('confirm');
    expect(await signedIn()).toBe(true);
  });

  it("signs out at once on a hint for the signed-in user, and asks on a hint for another (the RP's word for its own user only)", async () => {
    const other = await run({ id_token_hint: 'hint-bob' });
    expect(other.kind).toBe('confirm');
    if (other.kind === 'confirm') expect(other.confirmation.idTokenHint).toBe('hint-bob');
    expect(await run({ id_token_hint: 'hint-alice', post_logout_redirect_uri: signedOut })).toEqual({
      kind: 'signed_out',
      redirectTo: signedOut,
      clearSessionCookie: true,
    });
    expect(await signedIn()).toBe(false);
  });

  it.each([
    [{ post_logout_redirect_uri: signedOut }, 'post_logout_redirect_uri'],
    [{ client_id: 'spa', post_logout_redirect_uri: 'https://evil.example/' }, 'post_logout_redirect_uri'],
    [{ id_token_hint: 'not-ours' }, 'id_token_hint'],
    [{ id_token_hint: 'hint-alice', client_id: 'web' }, 'client_id'],
    [{ client_id: 'nobody' }, 'client_id'],
  ])('refuses %j with invalid_request, reason %s, and the session stays', async (params, reason) => {
    const outcome = await run(params);
    expect(outcome.kind).toBe('refused');
    if (outcome.kind === 'refused') {
      expect(outcome.error.code).toBe('invalid_request');
      expect(outcome.error.reason).toBe(reason);
    }
    expect(await signedIn()).toBe(true);
  });

  it('refuses a repeated parameter: reason repeated', async () => {
    const outcome = await endSession({ params: { state: ['a', 'b'] }, method: 'GET', sessionCookie: cookie }, deps);
    expect(outcome.kind === 'refused' && outcome.error.reason).toBe('repeated');
  });
});
