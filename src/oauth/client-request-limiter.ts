import { isPromise, type MaybePromise } from '../lib/maybe-promise.js';
import type { FailureCounter, FailureWindow } from '../stores/ports.js';
import { tooManyRequests } from '../lib/oauth-error.js';

export interface ClientRequestLimit {
  /** The endpoint counted, in the counter's key and the description. */
  endpoint: 'introspection' | 'revocation';
  maxPerMinute: number;
}

/**
 * Requests one authenticated client may make per minute at an endpoint. One holder of valid
 * credentials cannot take all of the server's time, nor, at the revocation endpoint, fill the
 * denylist with entries that each live until their token expires. Counted only after the client
 * has authenticated, so that nobody can spend another client's allowance by naming it.
 */
export class ClientRequestLimiter {
  constructor(
    private readonly counter: FailureCounter,
    private readonly limit: ClientRequestLimit,
  ) {}

  /** Counts one request of `clientId`; throws 429 `client_rate_limited` with Retry-After past the limit. */
  charge(clientId: string): MaybePromise<void> {
    const window = this.counter.hit(`client-requests:${this.limit.endpoint}:${clientId}`, 60_000);
    // At once in memory, without yielding; later from Redis (src/lib/maybe-promise.ts).
    if (isPromise(window)) return window.then((answered) => this.refuseOver(answered));
    this.refuseOver(window);
  }

  private refuseOver(window: FailureWindow): void {
    if (window.count > this.limit.maxPerMinute) {
      throw tooManyRequests(
        `too many ${this.limit.endpoint} requests from this client; try again later`,
        'client_rate_limited',
        window.resetInMs / 1000,
      );
    }
  }
}
