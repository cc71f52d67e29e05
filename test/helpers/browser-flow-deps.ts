import { parseConfig } from '../../src/config/load.js';
import type { BrowserFlowDeps } from '../../src/oauth/authorize/flow.js';
import { InteractionSeal } from '../../src/oauth/authorize/interaction-seal.js';
import type { AuthorizationOutcome } from '../../src/oauth/authorize/outcome.js';
import { StaticClientRegistry } from '../../src/oauth/clients.js';
import { MemoryCodeStore } from '../../src/stores/memory/code-store.js';
import { MemoryConsentStore } from '../../src/stores/memory/consent-store.js';
import { MemoryEndedInteractions } from '../../src/stores/memory/ended-interactions.js';
import { MemorySessionStore } from '../../src/stores/memory/session-store.js';
import { StaticUserDirectory } from '../../src/users/directory.js';
import { defaultTestClients, issuer, testClock, testUsers } from './app.js';

export const nonceSecret = Buffer.from('unit-test-nonce-secret-0123456789abcdef012345');

export type FlowFixture = BrowserFlowDeps & {
  clock: ReturnType<typeof testClock>;
  codes: MemoryCodeStore;
  consents: MemoryConsentStore;
  sessions: MemorySessionStore;
  endedInteractions: MemoryEndedInteractions;
};

/** The browser flow's dependencies with in-memory ports, the test clients and alice, and a clock that moves when told. */
export async function browserFlowDeps(): Promise<FlowFixture> {
  const config = parseConfig({ issuer, clients: defaultTestClients(), users: await testUsers() });
  const clock = testClock();
  return {
    issuer,
    clock,
    clients: new StaticClientRegistry(config.clients),
    users: new StaticUserDirectory(config.users),
    codes: new MemoryCodeStore(1000, clock),
    consents: new MemoryConsentStore(1000, clock),
    sessions: new MemorySessionStore(1000, clock),
    endedInteractions: new MemoryEndedInteractions(1000, clock),
    seal: new InteractionSeal(() => ({ current: nonceSecret }), { cookieName: 'dpop_oidc_interaction' }),
    codeTtlMs: 60_000,
    consentTtlMs: 86_400_000,
    sessionTtlMs: 8 * 3600_000,
    interactionTtlMs: 600_000,
  };
}

/** A valid authorization request of the public test client `spa`, with `overrides`. */
export function authorizationParams(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: 'spa',
    redirect_uri: 'https://spa.example.test/callback',
    scope: 'openid profile',
    state: 'state-1',
    nonce: 'nonce-1',
    code_challenge: 'c'.repeat(43),
    code_challenge_method: 'S256',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export function expectKind<K extends AuthorizationOutcome['kind']>(
  outcome: AuthorizationOutcome,
  kind: K,
): Extract<AuthorizationOutcome, { kind: K }> {
  if (outcome.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(outcome)}`);
  return outcome as Extract<AuthorizationOutcome, { kind: K }>;
}

/** The sealed interaction cookie an outcome sets. */
export function sealedCookie(outcome: AuthorizationOutcome): string {
  const cookie = outcome.cookies.interaction;
  if (!cookie || cookie === 'clear') throw new Error('no interaction cookie set');
  return cookie.value;
}
