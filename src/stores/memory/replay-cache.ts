import { StoreUnavailableError, type Clock, type ReplayCache, type ReplayClaim } from '../ports.js';
import { ExpiringMap } from './expiring-map.js';

/** In-memory replay cache, bounded: when full of live entries it fails closed. */
export class MemoryReplayCache implements ReplayCache {
  private readonly seen: ExpiringMap<true>;

  constructor(maxEntries: number, clock: Clock) {
    this.seen = new ExpiringMap(maxEntries, clock);
  }

  async claim(key: string, ttlMs: number, _owner: string): Promise<ReplayClaim> {
    const claimed = this.seen.setIfAbsent(key, true, ttlMs);
    if (claimed === null) throw new StoreUnavailableError('replay cache is full');
    return claimed ? 'claimed' : 'replayed';
  }
}
