import type { Clock } from '../lib/clock.js';
import type { SessionRecord, SessionStore } from '../stores/ports.js';
import { hashOpaque, newOpaqueToken } from '../tokens/opaque.js';

/** The session the session cookie names: stored under the hash of the cookie's value, so a store dump signs no one in. */
export async function findSession(cookie: string | undefined, sessions: SessionStore): Promise<SessionRecord | undefined> {
  return cookie ? sessions.find(hashOpaque(cookie)) : undefined;
}

/**
 * A new session for `sub`, with a new id: a session id set before the sign-in (by whoever) is
 * never the one after it (session fixation). The session the browser had is ended.
 */
export async function startSession(
  sub: string,
  previousCookie: string | undefined,
  deps: { sessions: SessionStore; clock: Clock; sessionTtlMs: number },
): Promise<{ cookie: string; session: SessionRecord }> {
  const cookie = newOpaqueToken();
  const session: SessionRecord = { id: hashOpaque(cookie), sub, authTime: Math.floor(deps.clock() / 1000) };
  await deps.sessions.create(session, deps.sessionTtlMs);
  if (previousCookie) await deps.sessions.end(hashOpaque(previousCookie));
  return { cookie, session };
}
