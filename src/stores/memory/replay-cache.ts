import type { MaybePromise } from '../../lib/maybe-promise.js';
import { type Clock } from '../../lib/clock.js';
import { StoreUnavailableError, type ReplayCache, type ReplayClaim } from '../ports.js';
import { ReplayBucket, toKeyWords, type ProbeCounter } from './replay-bucket.js';

/** Entries are grouped by the second in which they end; a bucket is dropped whole once it has passed. */
const bucketMs = 1000;

export interface MemoryReplayCacheOptions {
  /** Live entries one owner may hold; without it, owners are bounded by maxEntries only. */
  maxEntriesPerOwner?: number;
}

/**
 * In-memory replay cache (RFC 9449 §11.1), bounded in total and per owner, failing closed when
 * full. Entries sit in time buckets by the second they end in; a claim looks the key up in each
 * live bucket and adds it to one, so its work is bounded by the number of buckets (the longest
 * TTL in seconds, about 65 for DPoP proofs, 305 for client assertions), full or not. Nothing
 * ever sweeps the entries: a bucket whose second has passed is released whole, its owners'
 * shares paid back from its own slots (each entry is released once). An entry is answered
 * 'replayed' until exactly its TTL ends, but counts against the bounds until its bucket passes
 * (at most one second more).
 */
export class MemoryReplayCache implements ReplayCache {
  /** Buckets not yet passed, ascending by end. */
  private readonly buckets: ReplayBucket[] = [];
  /** Owners by a small id (the bucket slots hold it): name -> id, and per id its name and live entries. */
  private readonly ownerIds = new Map<string, number>();
  private readonly ownerNames: string[] = [];
  private readonly ownerEntries: number[] = [];
  private readonly freeOwnerIds: number[] = [];
  private liveEntries = 0;
  private readonly keyBytes = new Uint8Array(16);
  private readonly keyWords = new Uint32Array(this.keyBytes.buffer);
  private readonly probes: ProbeCounter = { slotsInspected: 0 };
  private readonly maxEntriesPerOwner: number;

  constructor(
    private readonly maxEntries: number,
    private readonly clock: Clock,
    options: MemoryReplayCacheOptions = {},
  ) {
    this.maxEntriesPerOwner = options.maxEntriesPerOwner ?? Number.POSITIVE_INFINITY;
  }

  /** Entries counted against the bound now. */
  get size(): number {
    this.dropPassedBuckets(this.clock());
    return this.liveEntries;
  }

  /** Buckets held now: the most a claim looks into. */
  get bucketCount(): number {
    this.dropPassedBuckets(this.clock());
    return this.buckets.length;
  }

  /** Table slots looked at by every claim so far: how the tests see that a claim's work stays bounded. */
  get slotsInspected(): number {
    return this.probes.slotsInspected;
  }

  /** Bytes of the entry tables (for the benchmark; the heap measure includes everything). */
  get tableBytes(): number {
    return this.buckets.reduce((sum, bucket) => sum + bucket.bytes, 0);
  }

  claim(key: string, ttlMs: number, owner: string): MaybePromise<ReplayClaim> {
    const now = this.clock();
    this.dropPassedBuckets(now);
    const words = this.keyWords;
    toKeyWords(key, this.keyBytes);
    for (const bucket of this.buckets) if (bucket.holds(words, now)) return 'replayed';

    let ownerId = this.ownerIds.get(owner);
    if (ownerId !== undefined && this.ownerEntries[ownerId]! >= this.maxEntriesPerOwner) return 'owner_limit';
    // Rejected, not thrown: a failing port rejects (src/stores/ports.ts).
    if (this.liveEntries >= this.maxEntries) return Promise.reject(new StoreUnavailableError('replay cache is full'));

    // Never earlier than asked: the entry ends at now + ttl rounded up, in the bucket ending at or after it.
    const endsAt = now + (ttlMs > 1 ? Math.ceil(ttlMs) : 1);
    const bucket = this.bucketEndingAt(Math.ceil(endsAt / bucketMs) * bucketMs);
    ownerId ??= this.addOwner(owner);
    const previousOwner = bucket.add(words, bucket.endMs - endsAt, ownerId);
    this.ownerEntries[ownerId]!++;
    // The key was still in this bucket after its entry had ended: the slot changes hands.
    if (previousOwner >= 0) this.release(previousOwner);
    else this.liveEntries++;
    return 'claimed';
  }

  private bucketEndingAt(endMs: number): ReplayBucket {
    const { buckets } = this;
    // Most claims end in the newest bucket: search from the back.
    let index = buckets.length;
    while (index > 0 && buckets[index - 1]!.endMs >= endMs) {
      if (buckets[index - 1]!.endMs === endMs) return buckets[index - 1]!;
      index--;
    }
    const bucket = new ReplayBucket(endMs, this.probes);
    buckets.splice(index, 0, bucket);
    return bucket;
  }

  private dropPassedBuckets(now: number): void {
    const { buckets } = this;
    let passed = 0;
    while (passed < buckets.length && buckets[passed]!.endMs <= now) {
      const bucket = buckets[passed]!;
      this.liveEntries -= bucket.entries;
      bucket.forEachOwner((ownerId) => this.release(ownerId));
      passed++;
    }
    if (passed > 0) buckets.splice(0, passed);
  }

  private addOwner(owner: string): number {
    const id = this.freeOwnerIds.pop() ?? this.ownerNames.length;
    this.ownerIds.set(owner, id);
    this.ownerNames[id] = owner;
    this.ownerEntries[id] = 0;
    return id;
  }

  private release(ownerId: number): void {
    if (--this.ownerEntries[ownerId]! > 0) return;
    this.ownerIds.delete(this.ownerNames[ownerId]!);
    this.ownerNames[ownerId] = '';
    this.freeOwnerIds.push(ownerId);
  }
}
