import { type Clock } from '../../lib/clock.js';
import { StoreUnavailableError, type ConsentStore } from '../ports.js';
import { ExpiringMap } from './expiring-map.js';

/** Consents in one process, bounded. A grant is one synchronous step, so none is lost to another. */
export class MemoryConsentStore implements ConsentStore {
  private readonly map: ExpiringMap<readonly string[]>;

  constructor(maxEntries: number, clock: Clock) {
    this.map = new ExpiringMap(maxEntries, clock);
  }

  async grant(sub: string, clientId: string, scopes: readonly string[], ttlMs: number): Promise<void> {
    const key = consentKey(sub, clientId);
    const granted = new Set([...(this.map.get(key) ?? []), ...scopes]);
    if (!this.map.set(key, Object.freeze([...granted]), ttlMs)) throw new StoreUnavailableError('consent store is full');
  }

  async scopes(sub: string, clientId: string): Promise<string[]> {
    return [...(this.map.get(consentKey(sub, clientId)) ?? [])];
  }
}

/** One key per pair: JSON keeps "a b"+"c" apart from "a"+"b c". */
function consentKey(sub: string, clientId: string): string {
  return JSON.stringify([sub, clientId]);
}
