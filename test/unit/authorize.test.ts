import { beforeEach, describe, expect, it, vi } from 'vitest';
import { authorize } from '../../src/oauth/authorize/authorize.js';
import { resumeInteraction } from '../../src/oauth/authorize/interaction.js';
import { hashOpaque } from '../../src/tokens/opaque.js';
import { authorizationParams, browserFlowDeps, expectKind, sealedCookie, type FlowFixture } from '../helpers/browser-flow-deps.js';

const firstParty = { client_id: 'first-party-spa', redirect_uri: 'http://localhost:5173/callback' };

describe('authorize: validation, then the next step of the flow', () => {
  let deps: FlowFixture;
  beforeEach(async () => {
    deps = await browserFlowDeps();
  });

  /** A session for alice that started `agoSeconds` before now; its cookie value. */
  async function signedIn(agoSeconds = 0): Promise<string> {
    const cookie = `cookie-${Math.random()}`;
    await deps.sessions.create(
      { id: hashOpaque(cookie), sub: 'user-alice', authTime: Math.floor(deps.clock() / 1000) - agoSeconds },
      3600_000,
    );
    return cookie;
  }

  it('refuses an unknown client on a page, never a redirect (RFC 6749 §4.1.2.1), reason client_id', async () => {
    const outcome = expectKind(await authorize(authorizationParams({ client_id: 'nobody' }), { session: undefined }, deps), 'refused');
    expect(outcome.error.code).toBe('invalid_request');
    expect(outcome.error.reason).toBe('client_id');
    expect(outcome.cookies).toEqual({});
  });

  it('refuses an unregistered redirect_uri on a page, reason redirect_uri', async () => {
    const outcome = expectKind(
      await authorize(authorizationParams({ redirect_uri: 'https://evil.example/cb' }), { session: undefined }, deps),
      'refused',
    );
    expect(outcome.error.reason).toBe('redirect_uri');
  });

  it('redirects any other error to the client with state and iss (RFC 9207), and says which', async () => {
    const outcome = expectKind(await authorize(authorizationParams({ response_type: 'token' }), { session: undefined }, deps), 'redirect');
    expect(outcome.error?.code).toBe('unsupported_response_type');
    expect(outcome.error?.reason).toBe('response_type');
    const url = new URL(outcome.url);
    expect(`${url.origin}${url.pathname}`).toBe('https://spa.example.test/callback');
    expect(url.searchParams.get('state')).toBe('state-1');
    expect(url.searchParams.get('iss')).toBe(deps.issuer);
  });

  it('shows the login page without a session, holding the request in the sealed cookie and nothing in a store', async () => {
    const writes = [
      vi.spyOn(deps.sessions, 'create'),
      vi.spyOn(deps.consents, 'grant'),
      vi.spyOn(deps.endedInteractions, 'end'),
      vi.spyOn(deps.codes, 'save'),
    ];
    const outcome = expectKind(await authorize(authorizationParams({ login_hint: 'alice' }), { session: undefined }, deps), 'page');
    expect(outcome.page).toBe('login');
    expect(outcome.view).toMatchObject({ clientName: 'Test SPA', username: 'alice', redirectUri: 'https://spa.example.test/callback' });
    expect(outcome.cookies.interaction).toMatchObject({ maxAgeSeconds: 600 });
    for (const write of writes) expect(write).not.toHaveBeenCalled();
    const interaction = resumeInteraction(
      { interaction: outcome.view.interactionId, csrf: outcome.view.csrf },
      sealedCookie(outcome),
      deps,
    );
    expect(interaction?.sub).toBeUndefined();
    expect(interaction).toMatchObject({
      fresh: { login: false, consent: false },
      expiresAtMs: deps.clock() + 600_000,
      request: { clientId: 'spa', state: 'state-1', nonce: 'nonce-1', scopes: ['openid', 'profile'], loginHint: 'alice' },
    });
  });

  it('answers prompt=none without a session with login_required, reason prompt_none (OIDC Core §3.1.2.6)', async () => {
    const outcome = expectKind(await authorize(authorizationParams({ prompt: 'none' }), { session: undefined }, deps), 'redirect');
    expect(outcome.error?.code).toBe('login_required');
    expect(outcome.error?.reason).toBe('prompt_none');
    expect(new URL(outcome.url).searchParams.get('error')).toBe('login_required');
  });

  it('redirects with a code for a signed-in user of a first-party client, the code saved with the session and request', async () => {
    const cookie = await signedIn(30);
    const outcome = expectKind(
      await authorize(authorizationParams({ ...firstParty, dpop_jkt: 'j'.repeat(43) }), { session: cookie }, deps),
      'redirect',
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.cookies).toEqual({});
    const code = new URL(outcome.url).searchParams.get('code')!;
    const saved = await deps.codes.peek(hashOpaque(code));
    expect(saved?.record).toMatchObject({
      clientId: 'first-party-spa',
      sub: 'user-alice',
      authTime: Math.floor(deps.clock() / 1000) - 30,
      nonce: 'nonce-1',
      dpopJkt: 'j'.repeat(43),
      codeChallenge: 'c'.repeat(43),
    });
  });

  it('asks for a login again when the session is older than max_age, and not when it is within (OIDC Core §3.1.2.1)', async () => {
    const cookie = await signedIn(120);
    expect(
      expectKind(await authorize(authorizationParams({ ...firstParty, max_age: '119' }), { session: cookie }, deps), 'page').page,
    ).toBe('login');
    expectKind(await authorize(authorizationParams({ ...firstParty, max_age: '120' }), { session: cookie }, deps), 'redirect');
    expect(
      expectKind(await authorize(authorizationParams({ ...firstParty, max_age: '0' }), { session: await signedIn(0) }, deps), 'page').page,
    ).toBe('login');
  });

  it('asks a non-first-party client consent for scopes not granted yet, and skips it once they all are', async () => {
    const cookie = await signedIn();
    expect(expectKind(await authorize(authorizationParams(), { session: cookie }, deps), 'page').page).toBe('consent');
    await deps.consents.grant('user-alice', 'spa', ['openid'], 60_000);
    expect(expectKind(await authorize(authorizationParams(), { session: cookie }, deps), 'page').page).toBe('consent');
    const none = expectKind(await authorize(authorizationParams({ prompt: 'none' }), { session: cookie }, deps), 'redirect');
    expect(none.error?.code).toBe('consent_required');
    await deps.consents.grant('user-alice', 'spa', ['profile'], 60_000);
    expectKind(await authorize(authorizationParams(), { session: cookie }, deps), 'redirect');
    expect(expectKind(await authorize(authorizationParams({ prompt: 'consent' }), { session: cookie }, deps), 'page').page).toBe('consent');
  });

  it('refuses a request too large to seal into a cookie with invalid_request, reason interaction_size', async () => {
    const outcome = expectKind(
      await authorize(
        authorizationParams({ state: '€'.repeat(1024), nonce: '€'.repeat(512), login_hint: '€'.repeat(255) }),
        { session: undefined },
        deps,
      ),
      'redirect',
    );
    expect(outcome.error?.code).toBe('invalid_request');
    expect(outcome.error?.reason).toBe('interaction_size');
    expect(outcome.cookies).toEqual({});
  });

  it('seals the largest ASCII request the parameter bounds allow in under 4 KB', async () => {
    const outcome = expectKind(
      await authorize(
        authorizationParams({
          state: 's'.repeat(1024),
          nonce: 'n'.repeat(512),
          login_hint: 'h'.repeat(255),
          scope: 'openid profile email offline_access api:read',
        }),
        { session: undefined },
        deps,
      ),
      'page',
    );
    expect(sealedCookie(outcome).length).toBeLessThan(4096 - 200);
  });
});
