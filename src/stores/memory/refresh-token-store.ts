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
    this.store(tokenHash, record);
  }

  async peek(tokenHash: string) {
    const entry = this.tokens.get(tokenHash);
    return entry ? { record: entry.record, used: entry.used } : undefined;
  }

  async rotate(oldHash: string, newHash: string, next: RefreshTokenRecord): Promise<ConsumeResult> {
    const entry = this.tokens.get(oldHash);
    if (!entry) return 'missing';
    if (entry.used) return 'reused';
    // The successor first, so that when it cannot be stored the old token stays usable; and
    // no await in between, so that concurrent rotations still see `used`.
    this.store(newHash, next);
    entry.used = true;
    return 'consumed';
  }

  private store(tokenHash: string, record: RefreshTokenRecord): void {
    if (!this.tokens.set(tokenHash, { record, used: false }, record.expiresAtMs - this.clock())) {
      throw new StoreUnavailableError('refresh token store is full');
    }
  }
}
