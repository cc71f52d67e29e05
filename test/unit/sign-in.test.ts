import { beforeEach, describe, expect, it, vi } from 'vitest';
import { authorize } from '../../src/oauth/authorize/authorize.js';
import { resumeInteraction } from '../../src/oauth/authorize/interaction.js';
import type { AuthorizationOutcome } from '../../src/oauth/authorize/outcome.js';
import { signIn } from '../../src/oauth/sign-in.js';
import { hashOpaque } from '../../src/tokens/opaque.js';
import { alice } from '../helpers/app.js';
import { authorizationParams, browserFlowDeps, expectKind, sealedCookie, type FlowFixture } from '../helpers/browser-flow-deps.js';

const firstParty = { client_id: 'first-party-spa', redirect_uri: 'http://localhost:5173/callback' };

describe('signIn: the login form POST', () => {
  let deps: FlowFixture;
  beforeEach(async () => {
    deps = await browserFlowDeps();
  });

  /** The login page's form and cookie for a fresh authorization request. */
  async function loginForm(overrides: Record<string, string> = {}) {
    const page = expectKind(await authorize(authorizationParams(overrides), { session: undefined }, deps), 'page');
    return { form: { interaction: page.view.interactionId, csrf: page.view.csrf }, cookie: sealedCookie(page) };
  }
  const refusedReason = (outcome: AuthorizationOutcome) => {
    const refused = expectKind(outcome, 'refused');
    expect(refused.error.code).toBe('invalid_request');
    return refused.error.reason;
  };

  it('answers a wrong password with the login page again (loginFailed, the username kept), and starts no session', async () => {
    const create = vi.spyOn(deps.sessions, 'create');
    const { form, cookie } = await loginForm();
    const outcome = expectKind(
      await signIn({ ...form, username: 'alice', password: 'wrong' }, { interaction: cookie, session: undefined }, deps),
      'page',
    );
    expect(outcome.page).toBe('login');
    expect(outcome.loginFailed).toBe(true);
    expect(outcome.view).toMatchObject({ username: 'alice', interactionId: form.interaction, csrf: form.csrf });
    expect(outcome.cookies).toEqual({});
    expect(create).not.toHaveBeenCalled();
  });

  it("starts a session at the clock's second and asks consent, the interaction re-sealed with the user and its expiry", async () => {
    const { form, cookie } = await loginForm();
    deps.clock.advance(100_000);
    const outcome = expectKind(
      await signIn({ ...form, username: alice.username, password: alice.password }, { interaction: cookie, session: undefined }, deps),
      'page',
    );
    expect(outcome.page).toBe('consent');
    const session = outcome.cookies.session!;
    expect(session.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.maxAgeSeconds).toBe(8 * 3600);
    expect(await deps.sessions.find(hashOpaque(session.value))).toEqual({
      id: hashOpaque(session.value),
      sub: 'user-alice',
      authTime: Math.floor(deps.clock() / 1000),
    });
    // The expiry stays the request's: 600 s from it, 500 s from now.
    expect(outcome.cookies.interaction).toMatchObject({ maxAgeSeconds: 500 });
    const resumed = resumeInteraction(form, sealedCookie(outcome), deps);
    expect(resumed).toMatchObject({ sub: 'user-alice', fresh: { login: true, consent: false } });
  });

  it('ends the session the browser had before: a sign-in never keeps an old session id alive', async () => {
    const previous = 'previous-cookie';
    await deps.sessions.create({ id: hashOpaque(previous), sub: 'user-bob', authTime: 1 }, 60_000);
    const { form, cookie } = await loginForm();
    await signIn({ ...form, username: alice.username, password: alice.password }, { interaction: cookie, session: previous }, deps);
    expect(await deps.sessions.find(hashOpaque(previous))).toBeUndefined();
  });

  it('redirects a first-party client with a code at once, clears the interaction and ends it once', async () => {
    const { form, cookie } = await loginForm(firstParty);
    const credentials = { ...form, username: alice.username, password: alice.password };
    const outcome = expectKind(await signIn(credentials, { interaction: cookie, session: undefined }, deps), 'redirect');
    expect(new URL(outcome.url).searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(outcome.cookies.interaction).toBe('clear');
    // The same form and cookie again, as a replay: no second code.
    const save = vi.spyOn(deps.codes, 'save');
    expect(refusedReason(await signIn(credentials, { interaction: cookie, session: undefined }, deps))).toBe('interaction_ended');
    expect(save).not.toHaveBeenCalled();
  });

  it('refuses a form without the cookie, with another CSRF token or another interaction id: reason interaction', async () => {
    const { form, cookie } = await loginForm();
    const other = await loginForm();
    const credentials = { username: alice.username, password: alice.password };
    expect(refusedReason(await signIn({ ...form, ...credentials }, { interaction: undefined, session: undefined }, deps))).toBe(
      'interaction',
    );
    expect(
      refusedReason(await signIn({ ...form, ...credentials, csrf: other.form.csrf }, { interaction: cookie, session: undefined }, deps)),
    ).toBe('interaction');
    expect(refusedReason(await signIn({ ...form, ...credentials }, { interaction: other.cookie, session: undefined }, deps))).toBe(
      'interaction',
    );
    expect(refusedReason(await signIn({ ...credentials }, { interaction: cookie, session: undefined }, deps))).toBe('interaction');
  });

  it('accepts the form until 600 s after the request, and refuses it from then on: reason interaction', async () => {
    const { form, cookie } = await loginForm();
    deps.clock.advance(600_000);
    expect(
      refusedReason(
        await signIn({ ...form, username: alice.username, password: alice.password }, { interaction: cookie, session: undefined }, deps),
      ),
    ).toBe('interaction');
    deps.clock.advance(-1);
    expectKind(
      await signIn({ ...form, username: alice.username, password: alice.password }, { interaction: cookie, session: undefined }, deps),
      'page',
    );
  });
});
