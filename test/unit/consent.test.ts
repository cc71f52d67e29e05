import { beforeEach, describe, expect, it, vi } from 'vitest';
import { authorize } from '../../src/oauth/authorize/authorize.js';
import type { AuthorizationOutcome } from '../../src/oauth/authorize/outcome.js';
import { answerConsent } from '../../src/oauth/consent.js';
import { signIn } from '../../src/oauth/sign-in.js';
import { hashOpaque } from '../../src/tokens/opaque.js';
import { alice } from '../helpers/app.js';
import { authorizationParams, browserFlowDeps, expectKind, sealedCookie, type FlowFixture } from '../helpers/browser-flow-deps.js';

describe('answerConsent: the consent form POST', () => {
  let deps: FlowFixture;
  beforeEach(async () => {
    deps = await browserFlowDeps();
  });

  /** alice signed in, at the consent page: its form and the browser's cookies. */
  async function consentForm(scope = 'openid profile') {
    const login = expectKind(await authorize(authorizationParams({ scope }), { session: undefined }, deps), 'page');
    const form = { interaction: login.view.interactionId, csrf: login.view.csrf };
    const consent = expectKind(
      await signIn(
        { ...form, username: alice.username, password: alice.password },
        { interaction: sealedCookie(login), session: undefined },
        deps,
      ),
      'page',
    );
    expect(consent.page).toBe('consent');
    return { form, cookies: { interaction: sealedCookie(consent), session: consent.cookies.session!.value } };
  }
  const refusedReason = (outcome: AuthorizationOutcome) => expectKind(outcome, 'refused').error.reason;

  it('records the consent and redirects with a code on allow, clearing the interaction', async () => {
    const { form, cookies } = await consentForm();
    const outcome = expectKind(await answerConsent({ ...form, decision: 'allow' }, cookies, deps), 'redirect');
    expect(new URL(outcome.url).searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(outcome.cookies.interaction).toBe('clear');
    expect((await deps.consents.scopes('user-alice', 'spa')).sort()).toEqual(['openid', 'profile']);
  });

  it('adds to what was granted before', async () => {
    await deps.consents.grant('user-alice', 'spa', ['email'], 60_000);
    const { form, cookies } = await consentForm('openid profile');
    await answerConsent({ ...form, decision: 'allow' }, cookies, deps);
    expect((await deps.consents.scopes('user-alice', 'spa')).sort()).toEqual(['email', 'openid', 'profile']);
  });

  it('answers a deny with access_denied to the client (RFC 6749 §4.1.2.1), reason consent_denied, recording nothing', async () => {
    const { form, cookies } = await consentForm();
    const outcome = expectKind(await answerConsent({ ...form, decision: 'deny' }, cookies, deps), 'redirect');
    expect(outcome.error?.code).toBe('access_denied');
    expect(outcome.error?.reason).toBe('consent_denied');
    const url = new URL(outcome.url);
    expect(url.searchParams.get('error')).toBe('access_denied');
    expect(url.searchParams.get('state')).toBe('state-1');
    expect(outcome.cookies.interaction).toBe('clear');
    expect(await deps.consents.scopes('user-alice', 'spa')).toEqual([]);
    // The sign-in has ended: an allow after it is refused.
    expect(refusedReason(await answerConsent({ ...form, decision: 'allow' }, cookies, deps))).toBe('interaction_ended');
  });

  it("refuses a consent without a session, or with another user's: reason session", async () => {
    const { form, cookies } = await consentForm();
    expect(refusedReason(await answerConsent({ ...form, decision: 'allow' }, { ...cookies, session: undefined }, deps))).toBe('session');
    await deps.sessions.create({ id: hashOpaque('bob-cookie'), sub: 'user-bob', authTime: 1 }, 60_000);
    expect(refusedReason(await answerConsent({ ...form, decision: 'allow' }, { ...cookies, session: 'bob-cookie' }, deps))).toBe('session');
    // A forged deny cannot end the interaction either.
    expect(refusedReason(await answerConsent({ ...form, decision: 'deny' }, { ...cookies, session: undefined }, deps))).toBe('session');
    expectKind(await answerConsent({ ...form, decision: 'allow' }, cookies, deps), 'redirect');
  });

  it('refuses a wrong CSRF token: reason interaction', async () => {
    const { form, cookies } = await consentForm();
    expect(refusedReason(await answerConsent({ ...form, csrf: 'x'.repeat(22), decision: 'allow' }, cookies, deps))).toBe('interaction');
  });

  it('mints one code for two allows at once, even when every store call yields to the other', async () => {
    const { form, cookies } = await consentForm();
    // Each port call waits a macrotask: the two posts interleave at every await.
    const yieldFirst = <T extends object>(port: T, method: keyof T) => {
      const original = (port[method] as (...args: unknown[]) => Promise<unknown>).bind(port);
      vi.spyOn(port, method as never).mockImplementation(((...args: unknown[]) =>
        new Promise((resolve) => setImmediate(resolve)).then(() => original(...args))) as never);
    };
    yieldFirst(deps.sessions, 'find');
    yieldFirst(deps.consents, 'grant');
    yieldFirst(deps.consents, 'scopes');
    yieldFirst(deps.endedInteractions, 'end');
    const save = vi.spyOn(deps.codes, 'save');
    const outcomes = await Promise.all([
      answerConsent({ ...form, decision: 'allow' }, cookies, deps),
      answerConsent({ ...form, decision: 'allow' }, cookies, deps),
    ]);
    expect(outcomes.map((outcome) => outcome.kind).sort()).toEqual(['redirect', 'refused']);
    expect(save).toHaveBeenCalledTimes(1);
  });
});
