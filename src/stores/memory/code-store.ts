import { type Clock } from '../../lib/clock.js';
import { StoreUnavailableError, type AuthorizationCodeRecord, type CodeRedemption, type CodeStore, type ConsumeResult } from '../ports.js';
import { ExpiringMap } from './expiring-map.js';

interface CodeEntry {
  record: AuthorizationCodeRecord;
  redemption: CodeRedemption | undefined;
}

/** Codes stay known (with their redemption) until they expire, so a second use is recognised. */
export class MemoryCodeStore implements CodeStore {
  private readonly codes: ExpiringMap<CodeEntry>;

  constructor(maxEntries: number, clock: Clock) {
    this.codes = new ExpiringMap(maxEntries, clock);
  }

  async save(codeHash: string, record: AuthorizationCodeRecord, ttlMs: number): Promise<void> {
    const entry = { record: { ...record, scopes: [...record.scopes] }, redemption: undefined };
    if (!this.codes.set(codeHash, entry, ttlMs)) throw new StoreUnavailableError('code store is full');
  }

  async peek(codeHash: string) {
    const entry = this.codes.get(codeHash);
    if (!entry) return undefined;
    const record = { ...entry.record, scopes: [...entry.record.scopes] };
    return entry.redemption ? { record, used: true, redemption: { ...entry.redemption } } : { record, used: false };
  }

  async consume(codeHash: string, redemption: CodeRedemption): Promise<ConsumeResult> {
    const entry = this.codes.get(codeHash);
    if (!entry) return 'missing';
    if (entry.redemption) return 'reused';
    entry.redemption = { ...redemption };
    return 'consumed';
  }
}
