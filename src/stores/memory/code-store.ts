import { StoreUnavailableError, type AuthorizationCodeRecord, type Clock, type CodeStore, type ConsumeResult } from '../ports.js';
import { ExpiringMap } from './expiring-map.js';

/** Codes stay known (marked used) until they expire, so a second use is recognised as reuse. */
export class MemoryCodeStore implements CodeStore {
  private readonly codes: ExpiringMap<{ record: AuthorizationCodeRecord; used: boolean }>;

  constructor(maxEntries: number, clock: Clock) {
    this.codes = new ExpiringMap(maxEntries, clock);
  }

  async save(codeHash: string, record: AuthorizationCodeRecord, ttlMs: number): Promise<void> {
    if (!this.codes.set(codeHash, { record, used: false }, ttlMs)) throw new StoreUnavailableError('code store is full');
  }

  async peek(codeHash: string) {
    const entry = this.codes.get(codeHash);
    return entry ? { record: entry.record, used: entry.used } : undefined;
  }

  async consume(codeHash: string): Promise<ConsumeResult> {
    const entry = this.codes.get(codeHash);
    if (!entry) return 'missing';
    if (entry.used) return 'reused';
    entry.used = true;
    return 'consumed';
  }
}
