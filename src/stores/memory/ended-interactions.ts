import { type Clock } from '../../lib/clock.js';
import { StoreUnavailableError, type EndedInteractions } from '../ports.js';
import { ExpiringMap } from './expiring-map.js';

/** Ended sign-ins in one process, bounded: one entry per sign-in that reached its end. */
export class MemoryEndedInteractions implements EndedInteractions {
  private readonly map: ExpiringMap<true>;

  constructor(maxEntries: number, clock: Clock) {
    this.map = new ExpiringMap(maxEntries, clock);
  }

  async end(interactionId: string, ttlMs: number): Promise<boolean> {
    const ended = this.map.setIfAbsent(interactionId, true, ttlMs);
    if (ended === null) throw new StoreUnavailableError('ended-interaction store is full');
    return ended;
  }
}
