import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Clock } from '../lib/clock.js';
import type { ReplayCache } from '../stores/ports.js';
import type { Client } from './clients.js';
import { OAuthError, tooManyRequests } from '../lib/oauth-error.js';

/**
 * private_key_jwt client authentication (RFC 7523 §2.2, §3; OIDC Core §9): a JWT signed with
 * one of the client's registered keys, iss = sub = client_id, aud naming this provider, a short
 * life, and a jti used once.
 */
export const jwtBearerAssertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export const clientAssertionAlgorithms = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
  'Ed25519',
];

/** An assertion may live this long at most (exp - iat, or exp - now without iat). */
const maxLifetimeSeconds = 300;

export interface ClientAssertionDeps {
  /** Acceptable `aud` values: the issuer and the endpoint URLs. */
  audiences: readonly string[];
  replayCache: ReplayCache;
  clock: Clock;
  /**
   * Assertions made before the second of this instant (ms) are refused: set at start-up when the
   * replay cache lives in memory, which forgets on restart the jti values it saw before.
   */
  notBeforeMs?: number | undefined;
}

function refused(description: string): OAuthError {
  return new OAuthError('invalid_client', description, { reason: 'client_assertion' });
}

/** Each client's key set, built once: createLocalJWKSet imports a key on first use and keeps it. */
const keySets = new WeakMap<Client, ReturnType<typeof createLocalJWKSet>>();

export async function verifyClientAssertion(assertion: string, client: Client, deps: ClientAssertionDeps): Promise<void> {
  if (!client.jwks) throw refused('client has no registered keys');
  let keys = keySets.get(client);
  if (!keys) {
    keys = createLocalJWKSet(client.jwks as JSONWebKeySet);
    keySets.set(client, keys);
  }
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(assertion, keys, {
      algorithms: clientAssertionAlgorithms,
      issuer: client.client_id,
      subject: client.client_id,
      audience: [...deps.audiences],
      currentDate: new Date(deps.clock()),
      requiredClaims: ['exp', 'jti'],
      clockTolerance: 5,
    }));
  } catch {
    // The same words as for an unknown client (client-auth.ts): a bad signature must not tell that the client exists.
    throw refused('client authentication failed');
  }
  const now = deps.clock() / 1000;
  const exp = payload.exp as number;
  // A future iat must not stretch the window: the life is counted from now at the latest.
  const start = typeof payload.iat === 'number' ? Math.min(payload.iat, now) : now;
  if (exp - start > maxLifetimeSeconds) throw refused('client assertion lives too long');
  // Without iat, the earliest the assertion can have been made is maxLifetime before its exp.
  const madeAt = typeof payload.iat === 'number' ? payload.iat : exp - maxLifetimeSeconds;
  if (deps.notBeforeMs !== undefined && madeAt < Math.floor(deps.notBeforeMs / 1000)) {
    throw refused('client assertion was made before the server started; make a new one');
  }
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw refused('client assertion jti is invalid');
  // RFC 7523 §3 item 7: a jti is accepted once while the assertion could still be used.
  const ttlMs = Math.max(1000, (exp - now + 5) * 1000);
  const claimed = await deps.replayCache.claim(`client-assertion\n${client.client_id}\n${jti}`, ttlMs, `client:${client.client_id}`);
  if (claimed === 'replayed') throw refused('client assertion has already been used');
  if (claimed === 'owner_limit') throw tooManyRequests('too many client assertions; slow down', 'replay_quota', maxLifetimeSeconds);
}
