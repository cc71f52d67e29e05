import { type Clock } from '../../lib/clock.js';
import { StoreUnavailableError, type ExpiringStore } from '../ports.js';
import { ExpiringMap } from './expiring-map.js';

export class MemoryExpiringStore<V> implements ExpiringStore<V> {
  private readonly map: ExpiringMap<V>;

  constructor(
    private readonly name: string,
    maxEntries: number,
    clock: Clock,
  ) {
    this.map = new ExpiringMap(maxEntries, clock);
  }

  async set(key: string, value: V, ttlMs: number): Promise<void> {
    if (!this.map.set(key, value, ttlMs)) throw new StoreUnavailableError(`${this.name} store is full`);
  }

  async get(key: string): Promise<V | undefined> {
    return this.map.get(key);
  }

  async delete(key: string): Promise<void> {
    this.map.delete(key);
  }
}
