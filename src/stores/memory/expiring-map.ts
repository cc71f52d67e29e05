import type { Clock } from '../../lib/clock.js';

/**
 * A map whose entries expire, bounded in size. Entries go in roughly in expiry order (each map's
 * TTLs vary within a small window, e.g. a proof's remaining acceptance time), so most clean-up
 * pops from the front; a full sweep runs only when full.
 */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.clock()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Sets `key` unless a live entry exists; false when it exists, null when full of live entries. */
  setIfAbsent(key: string, value: V, ttlMs: number): boolean | null {
    const now = this.clock();
    const existing = this.entries.get(key);
    if (existing && existing.expiresAt > now) return false;
    this.evictExpired(now);
    if (!existing && this.entries.size >= this.maxEntries) return null;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: now + ttlMs });
    return true;
  }

  /** Sets `key`, replacing any entry; false when full of live entries. */
  set(key: string, value: V, ttlMs: number): boolean {
    const now = this.clock();
    this.evictExpired(now);
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) return false;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: now + ttlMs });
    return true;
  }

  delete(key: string): V | undefined {
    const entry = this.entries.get(key);
    this.entries.delete(key);
    return entry && entry.expiresAt > this.clock() ? entry.value : undefined;
  }

  private evictExpired(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(key);
    }
    if (this.entries.size < this.maxEntries) return;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(key);
    }
  }
}
