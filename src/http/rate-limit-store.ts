import { createHash } from 'node:crypto';
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FailureCounter, FailureWindow } from '../stores/ports.js';

/** Longer keys (an address a trusted proxy passed on, unchecked) are counted by their hash. */
const maxKeyLength = 64;

/**
 * A store for @fastify/rate-limit that counts over the FailureCounter port, so that the
 * per-address limits count where the rest of the state lives: in the process (memory), or in
 * Redis, where every instance counts in the same windows and N instances do not allow N times
 * the limit. Each limiter counts under its own name: its `groupId`, or its route's method and URL.
 * A counter that cannot answer (Redis down) fails the request (503), as the stores do.
 */
export function counterRateLimitStore(counter: FailureCounter): FastifyRateLimitStoreCtor {
  class CounterRateLimitStore implements FastifyRateLimitStore {
    private readonly name: string;
    private readonly windowMs: number;

    constructor(options: unknown, name = '') {
      this.name = name;
      this.windowMs = (options as { timeWindow?: unknown }).timeWindow as number;
    }

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow?: number): void {
      const counted = key.length > maxKeyLength ? createHash('sha256').update(key, 'utf8').digest('base64url') : key;
      Promise.resolve(counter.hit(`rate-limit:${this.name}:${counted}`, typeof timeWindow === 'number' ? timeWindow : this.windowMs)).then(
        (window: FailureWindow) => callback(null, { current: window.count, ttl: window.resetInMs }),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    child(routeOptions: unknown): FastifyRateLimitStore {
      return new CounterRateLimitStore(routeOptions, limiterName(routeOptions));
    }
  }
  return CounterRateLimitStore;
}

/** Two limiters must never share counts by accident: one without a name stops the start. */
function limiterName(options: unknown): string {
  const { groupId, routeInfo } = options as { groupId?: unknown; routeInfo?: { method?: unknown; url?: unknown } };
  if (typeof groupId === 'string' && groupId) return groupId;
  if (routeInfo?.url !== undefined) return `${String(routeInfo.method)}:${String(routeInfo.url)}`;
  throw new Error('a rate limit made with app.rateLimit() needs a groupId to name its counts');
}
