import type { MaybePromise } from '../../lib/maybe-promise.js';
import type { Clock } from '../../lib/clock.js';
import type { FailureCounter, FailureWindow } from '../ports.js';

/**
 * In-memory failure counter, bounded to `maxKeys` windows. Windows are kept in the order they
 * opened, which is the order they end (one window length per counter). When full of live
 * windows, the oldest are dropped, never a new one refused: refusing would let a flood of
 * made-up client_ids lock every client out, while dropping costs the attacker some 10% of
 * maxKeys counted failures (each also against its address) to reset one key.
 */
export class MemoryFailureCounter implements FailureCounter {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();

  constructor(
    private readonly maxKeys: number,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.windows.size;
  }

  hit(key: string, windowMs: number): MaybePromise<FailureWindow> {
    const now = this.clock();
    let window = this.live(key, now);
    if (!window) {
      this.makeRoom(now);
      window = { count: 0, endsAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { count: window.count, resetInMs: window.endsAt - now };
  }

  peek(key: string): MaybePromise<FailureWindow> {
    const now = this.clock();
    const window = this.live(key, now);
    return window ? { count: window.count, resetInMs: window.endsAt - now } : { count: 0, resetInMs: 0 };
  }

  private live(key: string, now: number): { count: number; endsAt: number } | undefined {
    const window = this.windows.get(key);
    if (window && window.endsAt <= now) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  /**
   * When full: one pass drops the ended windows, then the oldest live ones down to 90% of the
   * bound. Batched because a Map keeps deleted slots until it rehashes, so a pass from the front
   * on every insert would cost the number of recent deletions (measured: 45 µs a hit at 100 000).
   */
  private makeRoom(now: number): void {
    if (this.windows.size < this.maxKeys) return;
    const keep = Math.floor(this.maxKeys * 0.9);
    for (const [key, window] of this.windows) {
      if (window.endsAt > now && this.windows.size <= keep) break;
      this.windows.delete(key);
    }
  }
}
