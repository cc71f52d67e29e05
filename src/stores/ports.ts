import type { MaybePromise } from '../lib/maybe-promise.js';

/**
 * Storage ports: the small, atomic operations the protocol needs. Each has an in-memory
 * adapter (the embedded default, one process) and may have others (e.g. Redis) for
 * several instances. Never a read followed by a write: that is a race across requests.
 */

/** Thrown by an adapter that cannot answer (full, or its backend down): callers fail closed. */
export class StoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * 'claimed' the first time, 'replayed' while the key is recorded, 'owner_limit' when the owner
 * already holds its share of live entries (then nothing is recorded).
 */
export type ReplayClaim = 'claimed' | 'replayed' | 'owner_limit';

/**
 * The ports on the request path of every token request (ReplayCache.claim, RevokedTokens.isRevoked,
 * FailureCounter) may answer at once (MaybePromise, src/lib/maybe-promise.ts): the memory adapters
 * do, Redis's answer later. An adapter that fails still rejects, never throws.
 */
export interface ReplayCache {
  /**
   * Records `key` for at least `ttlMs` on behalf of `owner`: the credential the request has
   * already proved (a confidential client's id, a public client's grant), so that one holder
   * of a valid credential cannot fill the cache that every client shares (RFC 9449 §11.1).
   * Throws StoreUnavailableError when it cannot answer (full of live entries, backend down).
   */
  claim(key: string, ttlMs: number, owner: string): MaybePromise<ReplayClaim>;
}

export interface RevokedTokens {
  /** Denies the access token `jti` until `expiresAtMs` (its `exp`), after which it expires anyway. */
  revoke(jti: string, expiresAtMs: number): Promise<void>;
  isRevoked(jti: string): MaybePromise<boolean>;
}

/** An authorization code's grant-to-be, stored under a hash of the code. */
export interface AuthorizationCodeRecord {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  sub: string;
  authTime: number;
  nonce: string | undefined;
  codeChallenge: string | undefined;
  /** RFC 9449 §10: the code may only be redeemed with a proof by this key. */
  dpopJkt: string | undefined;
  /** The grant the code's tokens will belong to (revoked if the code is used twice). */
  grantId: string;
}

export type ConsumeResult = 'consumed' | 'reused' | 'missing';

/** Who redeemed a code and when: a retry by the same key (or client) within the grace is not reuse. */
export interface CodeRedemption {
  atMs: number;
  /** The DPoP key of the redeeming proof, when there was one. */
  jkt: string | undefined;
}

export interface CodeStore {
  save(codeHash: string, record: AuthorizationCodeRecord, ttlMs: number): Promise<void>;
  /** The record while the code lives, used or not, with its redemption once used; does not consume. */
  peek(codeHash: string): Promise<{ record: AuthorizationCodeRecord; used: boolean; redemption?: CodeRedemption } | undefined>;
  /**
   * Atomically marks the code used by `redemption`: 'consumed' the first time, 'reused' after
   * (the first redemption stays recorded, never replaced).
   */
  consume(codeHash: string, redemption: CodeRedemption): Promise<ConsumeResult>;
}

/** What the user granted a client; tokens issued under it die with it. */
export interface GrantRecord {
  id: string;
  clientId: string;
  sub: string;
  scopes: string[];
  authTime: number;
}

/** An access token of a grant, by `jti`, until its `exp`. */
export interface GrantAccessToken {
  /** Minted by newGrantTokenId(grant id) (src/lib/grant-tag.ts): it names the grant, which the Redis adapter needs to deny it. */
  jti: string;
  expiresAtMs: number;
}

export interface GrantStore {
  /**
   * Creates the grant; does nothing when it already exists (another redemption of the same
   * code made it), so a revocation or the tokens already recorded are never undone.
   */
  create(grant: GrantRecord, ttlMs: number): Promise<void>;
  /** The grant while it is active (not revoked, not expired). */
  find(id: string): Promise<GrantRecord | undefined>;
  /**
   * Remembers an access token of the grant, so revoking the grant can deny it. Keeps at most
   * `maxLive` live tokens: beyond that the oldest goes on the RevokedTokens denylist, in the same
   * atomic step (dropping it would leave a token that revoking the grant no longer denies).
   * False when the grant is no longer active (revoked meanwhile): the caller must not hand the
   * token out.
   */
  addAccessToken(grantId: string, token: GrantAccessToken, maxLive: number): Promise<boolean>;
  /**
   * Revokes the grant and puts its live access tokens on the RevokedTokens denylist, as one step:
   * no crash or failure in between can leave the grant revoked and its tokens valid. Calling it
   * again denies them again (a failed revocation is completed by its retry).
   */
  revoke(grantId: string): Promise<void>;
}

/**
 * The refresh tokens of one grant, as one record (RFC 9700 §4.14 rotation): only the current
 * token works; the one it replaced is remembered for a retry within the grace; every older one
 * is recognised by the family id it carries, so no record is kept per retired token.
 */
export interface RefreshTokenFamily {
  grantId: string;
  clientId: string;
  /** The scopes of the grant; a refresh may narrow them for its access token, never widen. */
  scopes: string[];
  /** RFC 9449 §5: a public client's refresh tokens are bound to the DPoP key that obtained them. */
  jkt: string | undefined;
  expiresAtMs: number;
  /** 0 for the token of the code exchange, one more at each rotation. */
  generation: number;
  /** Hash of the current token. */
  currentHash: string;
  /** Hash of the token the current one replaced (none at generation 0: the code's). */
  previousHash: string | undefined;
  /** When the current token was issued. */
  issuedAtMs: number;
  /** The current token, encrypted under the credential it replaced (the previous token, or the code). */
  sealedCurrent: string;
}

/** The next generation, as `rotate` stores it. */
export interface RefreshTokenSuccessor {
  hash: string;
  sealed: string;
  jkt: string | undefined;
  issuedAtMs: number;
  expiresAtMs: number;
}

/**
 * 'rotated': `presentedHash` was current and `next` replaced it. 'previous': it is the token the
 * current one replaced (its successor not yet used); 'stale': an older one, or none the family
 * knows. Neither changes anything. Each comes with the family as it stands after the step.
 */
export type RotateResult = { outcome: 'rotated' | 'previous' | 'stale'; family: RefreshTokenFamily } | { outcome: 'missing' };

export interface RefreshTokenStore {
  /** Creates the family at generation 0 unless it exists; returns the family as stored (the existing one, if any). */
  create(familyId: string, family: RefreshTokenFamily): Promise<RefreshTokenFamily>;
  find(familyId: string): Promise<RefreshTokenFamily | undefined>;
  /** Atomically replaces the current token by `next` when `presentedHash` is still current. */
  rotate(familyId: string, presentedHash: string, next: RefreshTokenSuccessor): Promise<RotateResult>;
}

/** A signed-in user at this provider, stored under the hash of its cookie's value. */
export interface SessionRecord {
  id: string;
  sub: string;
  /** Seconds since the epoch, for `auth_time` and `max_age`. */
  authTime: number;
}

/**
 * Sessions of the browser sign-in. A session is never changed once made: a new sign-in makes a
 * new one (no session fixation) and ends the one it replaces. Records are copies both ways.
 */
export interface SessionStore {
  /** Stores a new session for `ttlMs`; throws StoreUnavailableError when full or down. */
  create(session: SessionRecord, ttlMs: number): Promise<void>;
  /** The session while it lasts. */
  find(id: string): Promise<SessionRecord | undefined>;
  /** Ends the session now; ending one that is gone does nothing. */
  end(id: string): Promise<void>;
}

/** What each user granted each client (the consent page is skipped for scopes already granted). */
export interface ConsentStore {
  /**
   * Adds `scopes` to what `sub` granted `clientId` and keeps the whole consent `ttlMs` from now,
   * as one atomic step: two grants at once both count (Redis: SADD on one set).
   */
  grant(sub: string, clientId: string, scopes: readonly string[], ttlMs: number): Promise<void>;
  /** The scopes granted so far, in no particular order; empty when none. */
  scopes(sub: string, clientId: string): Promise<string[]>;
}

/**
 * The sign-ins that have ended (a code or an error went back to the client). A pending sign-in
 * is held by the browser alone (a sealed cookie), so this marker, recorded when it ends, is
 * what keeps it from ending twice: a replayed consent POST must not mint a second code.
 */
export interface EndedInteractions {
  /** Marks `interactionId` ended for `ttlMs` (until its cookie expires anyway): true the first time only. */
  end(interactionId: string, ttlMs: number): Promise<boolean>;
}

/** The failures counted against a key in its current fixed window. */
export interface FailureWindow {
  count: number;
  /** Milliseconds until the window ends; 0 when the key has none. */
  resetInMs: number;
}

/**
 * Counts events per key in fixed windows: failed client authentications, and the requests of
 * the rate limits. `hit` is the one write and is atomic: it opens a window of `windowMs` at a
 * key's first event and answers the count (Redis: INCR, PTTL and PEXPIRE when the key has no
 * expiry yet, in one script). `peek` only reads, for refusing an attempt before any work;
 * concurrent attempts may overshoot a limit by how many are in flight.
 */
export interface FailureCounter {
  hit(key: string, windowMs: number): MaybePromise<FailureWindow>;
  peek(key: string): MaybePromise<FailureWindow>;
}
