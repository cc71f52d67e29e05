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

export interface ReplayCache {
  /** Records `key` for `ttlMs`; true the first time, false while it is already recorded. */
  claim(key: string, ttlMs: number): Promise<boolean>;
}

export interface RevokedTokens {
  /** Denies the access token `jti` until `expiresAtMs` (its `exp`), after which it expires anyway. */
  revoke(jti: string, expiresAtMs: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
}
