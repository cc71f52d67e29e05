/**
 * Storage ports: the small, atomic operations the protocol needs. Each has an in-memory
 * adapter (the embedded default, one process) and may have others (e.g. Redis) for
 * several instances. Never a read followed by a write: that is a race across requests.
 */

/** Milliseconds since the epoch; injected so protocol code and tests control time. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

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

export interface ReplayCache {
  /**
   * Records `key` for at least `ttlMs` on behalf of `owner`: the credential the request has
   * already proved (a confidential client's id, a public client's grant), so that one holder
   * of a valid credential cannot fill the cache that every client shares (RFC 9449 §11.1).
   * Throws StoreUnavailableError when it cannot answer (full of live entries, backend down).
   */
  claim(key: string, ttlMs: number, owner: string): Promise<ReplayClaim>;
}

export interface RevokedTokens {
  /** Denies the access token `jti` until `expiresAtMs` (its `exp`), after which it expires anyway. */
  revoke(jti: string, expiresAtMs: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
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

export interface CodeStore {
  save(codeHash: string, record: AuthorizationCodeRecord, ttlMs: number): Promise<void>;
  /** The record while the code lives, used or not; does not consume. */
  peek(codeHash: string): Promise<{ record: AuthorizationCodeRecord; used: boolean } | undefined>;
  /** Atomically marks the code used: 'consumed' the first time, 'reused' after. */
  consume(codeHash: string): Promise<ConsumeResult>;
}

/** What the user granted a client; tokens issued under it die with it. */
export interface GrantRecord {
  id: string;
  clientId: string;
  sub: string;
  scopes: string[];
  authTime: number;
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
   * Remembers an access token of the grant, so revoking the grant can deny it. False when the
   * grant is no longer active (revoked meanwhile): the caller must not hand the token out.
   */
  addAccessToken(grantId: string, jti: string, expiresAtMs: number): Promise<boolean>;
  /** Revokes the grant; returns its access tokens that have not expired. */
  revoke(grantId: string): Promise<Array<{ jti: string; expiresAtMs: number }>>;
}

export interface RefreshTokenRecord {
  grantId: string;
  clientId: string;
  scopes: string[];
  /** RFC 9449 §5: a public client's refresh token is bound to the DPoP key that obtained it. */
  jkt: string | undefined;
  expiresAtMs: number;
}

export interface RefreshTokenStore {
  save(tokenHash: string, record: RefreshTokenRecord): Promise<void>;
  peek(tokenHash: string): Promise<{ record: RefreshTokenRecord; used: boolean } | undefined>;
  /**
   * Atomically retires `oldHash` and stores its successor (RFC 9700 §4.14 rotation):
   * 'consumed' when rotated, 'reused' when `oldHash` was already retired, 'missing' when unknown.
   */
  rotate(oldHash: string, newHash: string, next: RefreshTokenRecord): Promise<ConsumeResult>;
}

/** A short-lived key-value store with expiry: sessions, pending interactions, consents. */
export interface ExpiringStore<V> {
  set(key: string, value: V, ttlMs: number): Promise<void>;
  get(key: string): Promise<V | undefined>;
  delete(key: string): Promise<void>;
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
  hit(key: string, windowMs: number): Promise<FailureWindow>;
  peek(key: string): Promise<FailureWindow>;
}
