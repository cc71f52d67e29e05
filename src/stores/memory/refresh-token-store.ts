import { StoreUnavailableError, type Clock, type ConsumeResult, type RefreshTokenRecord, type RefreshTokenStore } from '../ports.js';
import { ExpiringMap } from './expiring-map.js';

/** Retired refresh tokens stay known until they expire, so their reuse is detected. */
export class MemoryRefreshTokenStore implements RefreshTokenStore {
  private readonly tokens: ExpiringMap<{ record: RefreshTokenRecord; used: boolean }>;

  constructor(
    maxEntries: number,
    private readonly clock: Clock,
  ) {
    this.tokens = new ExpiringMap(maxEntries, clock);
  }

  async save(tokenHash: string, record: RefreshTokenRecord): Promise<void> {
    if (!this.tokens.set(tokenHash, { record, used: false }, record.expiresAtMs - this.clock())) {
      throw new StoreUnavailableError('refresh token store is full');
    }
  }

  async peek(tokenHash: string) {
    const entry = this.tokens.get(tokenHash);
    return entry ? { record: entry.record, used: entry.used } : undefined;
  }

  async rotate(oldHash: string, newHash: string, next: RefreshTokenRecord): Promise<ConsumeResult> {
    const entry = this.tokens.get(oldHash);
    if (!entry) return 'missing';
    if (entry.used) return 'reused';
    entry.used = true;
    await this.save(newHash, next);
    return 'consumed';
  }
}
