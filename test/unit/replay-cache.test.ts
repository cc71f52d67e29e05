import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ExpiringMap } from '../../src/stores/memory/expiring-map.js';
import { MemoryReplayCache } from '../../src/stores/memory/replay-cache.js';
import { StoreUnavailableError } from '../../src/stores/ports.js';
import { testClock } from '../helpers/app.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { expectRefusal, verifierFixture } from '../helpers/dpop-verifier.js';

/** ReplayCache.claim: 'claimed' once per key while recorded (RFC 9449 §11.1), bounded in total and per owner, failing closed. */

describe('MemoryReplayCache.claim is true once per key while the entry lives', () => {
  it('claims a new key, then refuses it while it lives', async () => {
    const cache = new MemoryReplayCache(10, testClock());
    expect(await cache.claim('k', 1000, 'owner')).toBe('claimed');
    expect(await cache.claim('k', 1000, 'owner')).toBe('replayed');
  });

  it('claims different keys independently', async () => {
    const cache = new MemoryReplayCache(10, testClock());
    expect(await cache.claim('a', 1000, 'owner')).toBe('claimed');
    expect(await cache.claim('b', 1000, 'owner')).toBe('claimed');
  });

  it('keeps the entry up to the last millisecond before its ttl ends, and lets the key be claimed from then on', async () => {
    const clock = testClock();
    const cache = new MemoryReplayCache(10, clock);
    await cache.claim('k', 1000, 'owner');
    clock.advance(999);
    expect(await cache.claim('k', 1000, 'owner')).toBe('replayed');
    clock.advance(1);
    expect(await cache.claim('k', 1000, 'owner')).toBe('claimed');
  });

  it('does not extend an entry when a claim is refused', async () => {
    const clock = testClock();
    const cache = new MemoryReplayCache(10, clock);
    await cache.claim('k', 1000, 'owner');
    clock.advance(500);
    await cache.claim('k', 1000, 'owner');
    clock.advance(500);
    expect(await cache.claim('k', 1000, 'owner')).toBe('claimed');
  });

  it('answers concurrent claims of one key with exactly one true', async () => {
    const cache = new MemoryReplayCache(10, testClock());
    const results = await Promise.all(Array.from({ length: 20 }, () => Promise.resolve(cache.claim('k', 1000, 'owner'))));
    expect(results.filter((result) => result === 'claimed')).toHaveLength(1);
  });
});

describe('MemoryReplayCache is bounded and fails closed when full', () => {
  it('throws StoreUnavailableError when full of live entries', async () => {
    const cache = new MemoryReplayCache(2, testClock());
    await cache.claim('a', 1000, 'owner');
    await cache.claim('b', 1000, 'owner');
    await expect(cache.claim('c', 1000, 'owner')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('still answers false (not full) for a key it holds, when full', async () => {
    const cache = new MemoryReplayCache(2, testClock());
    await cache.claim('a', 1000, 'owner');
    await cache.claim('b', 1000, 'owner');
    expect(await cache.claim('a', 1000, 'owner')).toBe('replayed');
  });

  it('makes room when the buckets of ended entries pass, wherever those entries were claimed', async () => {
    const clock = testClock();
    const cache = new MemoryReplayCache(3, clock);
    await cache.claim('long', 10_000, 'owner');
    await cache.claim('short-1', 100, 'owner');
    await cache.claim('short-2', 100, 'owner');
    // Ended entries count until their one-second bucket has passed, then leave all at once.
    clock.advance(999);
    await expect(cache.claim('c', 1000, 'owner')).rejects.toBeInstanceOf(StoreUnavailableError);
    clock.advance(1);
    expect(await cache.claim('c', 1000, 'owner')).toBe('claimed');
    expect(await cache.claim('d', 1000, 'owner')).toBe('claimed');
    expect(await cache.claim('long', 1000, 'owner')).toBe('replayed');
    expect(cache.size).toBe(3);
  });

  it('refuses a full cache without looking at its entries: the work is bounded by the buckets', async () => {
    const clock = testClock();
    const cache = new MemoryReplayCache(20_000, clock);
    // 20 000 entries spread over 60 one-second buckets, as a minute of proofs would be.
    for (let index = 0; index < 20_000; index++) await cache.claim(`key-${index}`, 1 + (index % 60) * 1000, `owner-${index % 7}`);
    expect(cache.size).toBe(20_000);
    expect(cache.bucketCount).toBe(60);
    const before = cache.slotsInspected;
    for (let index = 0; index < 100; index++) {
      await expect(cache.claim(`new-${index}`, 1000, 'owner-0')).rejects.toBeInstanceOf(StoreUnavailableError);
    }
    // Each refused claim probes a few slots in each of the 60 buckets (tables at most 3/4 full), never the 20 000 entries.
    expect((cache.slotsInspected - before) / 100).toBeLessThan(60 * 16);
    expect(cache.size).toBe(20_000);
  });

  it('refuses an owner at its bound with owner_limit before failing closed when full', async () => {
    const cache = new MemoryReplayCache(2, testClock(), { maxEntriesPerOwner: 2 });
    await cache.claim('a', 1000, 'greedy');
    await cache.claim('b', 1000, 'greedy');
    expect(await cache.claim('c', 1000, 'greedy')).toBe('owner_limit');
    await expect(cache.claim('c', 1000, 'other')).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('MemoryReplayCache holds entries in one-second buckets, dropped whole', () => {
  it('never ends an entry earlier than asked, whatever the bucket', async () => {
    const clock = testClock(Date.UTC(2026, 10, 29, 12, 0, 0) + 999);
    const cache = new MemoryReplayCache(10, clock);
    // Claimed 1 ms before a second ends, for 1 ms and for 2 ms: the second crosses the boundary.
    await cache.claim('one', 1, 'owner');
    await cache.claim('two', 2, 'owner');
    expect(cache.bucketCount).toBe(2);
    clock.advance(1);
    expect(await cache.claim('one', 1000, 'owner')).toBe('claimed');
    expect(await cache.claim('two', 1000, 'owner')).toBe('replayed');
    clock.advance(1);
    expect(await cache.claim('two', 1000, 'owner')).toBe('claimed');
  });

  it('drops a bucket at the instant its second ends, with every entry in it', async () => {
    const clock = testClock();
    const cache = new MemoryReplayCache(10, clock);
    await cache.claim('a', 1, 'owner');
    await cache.claim('b', 500, 'owner');
    await cache.claim('c', 1000, 'owner');
    await cache.claim('d', 1001, 'owner');
    expect(cache.size).toBe(4);
    expect(cache.bucketCount).toBe(2);
    clock.advance(999);
    expect(cache.size).toBe(4);
    clock.advance(1);
    expect(cache.size).toBe(1);
    expect(cache.bucketCount).toBe(1);
    clock.advance(1000);
    expect(cache.size).toBe(0);
    expect(cache.bucketCount).toBe(0);
  });

  it('lets a key whose entry has ended be claimed again within its bucket, counted once', async () => {
    const clock = testClock();
    const cache = new MemoryReplayCache(10, clock, { maxEntriesPerOwner: 1 });
    await cache.claim('k', 100, 'first');
    clock.advance(100);
    expect(await cache.claim('k', 100, 'second')).toBe('claimed');
    expect(cache.size).toBe(1);
    // The slot changed hands: the first owner holds nothing, the second holds its one entry.
    expect(await cache.claim('x', 100, 'first')).toBe('claimed');
    expect(await cache.claim('y', 100, 'second')).toBe('owner_limit');
    expect(await cache.claim('k', 100, 'first')).toBe('replayed');
  });

  it('tells apart keys that share their first 64 bits (base64url digests are used as 128 bits)', async () => {
    const cache = new MemoryReplayCache(10, testClock());
    const digest = 'A'.repeat(43);
    const sameFirstWords = `${'A'.repeat(12)}B${'A'.repeat(30)}`;
    const differsAfter128Bits = `${'A'.repeat(42)}B`;
    expect(await cache.claim(digest, 1000, 'owner')).toBe('claimed');
    expect(await cache.claim(sameFirstWords, 1000, 'owner')).toBe('claimed');
    // Bits past the first 128 are not kept: such keys are the same entry (SHA-256 digests differ earlier).
    expect(await cache.claim(differsAfter128Bits, 1000, 'owner')).toBe('replayed');
  });

  it('keeps every key of a bucket as its table grows', async () => {
    const cache = new MemoryReplayCache(10_000, testClock());
    const keys = Array.from({ length: 5000 }, (_, index) => createHash('sha256').update(String(index)).digest('base64url'));
    for (const key of keys) await cache.claim(key, 1000, 'owner');
    for (const key of keys) expect(await cache.claim(key, 1000, 'owner')).toBe('replayed');
    expect(cache.size).toBe(5000);
  });
});

describe('MemoryReplayCache bounds each owner (one credential cannot fill the cache)', () => {
  it('answers owner_limit once the owner holds its bound of live entries, and records nothing', async () => {
    const cache = new MemoryReplayCache(100, testClock(), { maxEntriesPerOwner: 2 });
    expect(await cache.claim('a', 1000, 'grant:1')).toBe('claimed');
    expect(await cache.claim('b', 1000, 'grant:1')).toBe('claimed');
    expect(await cache.claim('c', 1000, 'grant:1')).toBe('owner_limit');
    expect(cache.size).toBe(2);
    // Nothing was recorded for the refused claim: the key is still free for another owner.
    expect(await cache.claim('c', 1000, 'grant:2')).toBe('claimed');
  });

  it('still answers replayed for a key the owner holds, at its bound', async () => {
    const cache = new MemoryReplayCache(100, testClock(), { maxEntriesPerOwner: 1 });
    await cache.claim('a', 1000, 'client:x');
    expect(await cache.claim('a', 1000, 'client:x')).toBe('replayed');
  });

  it("frees the owner's share when the buckets of its entries pass", async () => {
    const clock = testClock();
    const cache = new MemoryReplayCache(100, clock, { maxEntriesPerOwner: 2 });
    await cache.claim('a', 1000, 'client:x');
    await cache.claim('b', 3000, 'client:x');
    expect(await cache.claim('c', 1000, 'client:x')).toBe('owner_limit');
    clock.advance(1000);
    expect(await cache.claim('c', 1000, 'client:x')).toBe('claimed');
    expect(await cache.claim('d', 1000, 'client:x')).toBe('owner_limit');
    clock.advance(3000);
    expect(await cache.claim('d', 1000, 'client:x')).toBe('claimed');
    expect(await cache.claim('e', 1000, 'client:x')).toBe('claimed');
    expect(cache.size).toBe(2);
  });

  it('counts owners apart', async () => {
    const cache = new MemoryReplayCache(100, testClock(), { maxEntriesPerOwner: 1 });
    expect(await cache.claim('a', 1000, 'grant:1')).toBe('claimed');
    expect(await cache.claim('b', 1000, 'grant:2')).toBe('claimed');
    expect(await cache.claim('c', 1000, 'grant:1')).toBe('owner_limit');
    expect(await cache.claim('c', 1000, 'grant:3')).toBe('claimed');
  });
});

describe('ExpiringMap', () => {
  it('returns a live value and forgets it at its expiry', () => {
    const clock = testClock();
    const map = new ExpiringMap<string>(10, clock);
    map.set('k', 'v', 1000);
    expect(map.get('k')).toBe('v');
    clock.advance(1000);
    expect(map.get('k')).toBeUndefined();
  });

  it('setIfAbsent answers false for a live key, true for an expired one, null when full', () => {
    const clock = testClock();
    const map = new ExpiringMap<number>(1, clock);
    expect(map.setIfAbsent('k', 1, 1000)).toBe(true);
    expect(map.setIfAbsent('k', 2, 1000)).toBe(false);
    expect(map.get('k')).toBe(1);
    expect(map.setIfAbsent('other', 3, 1000)).toBeNull();
    clock.advance(1000);
    expect(map.setIfAbsent('k', 4, 1000)).toBe(true);
    expect(map.get('k')).toBe(4);
  });

  it('set replaces a live value and answers false only when full of other live keys', () => {
    const map = new ExpiringMap<number>(1, testClock());
    expect(map.set('k', 1, 1000)).toBe(true);
    expect(map.set('k', 2, 1000)).toBe(true);
    expect(map.get('k')).toBe(2);
    expect(map.set('other', 3, 1000)).toBe(false);
  });

  it('delete returns a live value once, and nothing for an expired one', () => {
    const clock = testClock();
    const map = new ExpiringMap<number>(10, clock);
    map.set('live', 1, 1000);
    map.set('dead', 2, 10);
    clock.advance(10);
    expect(map.delete('live')).toBe(1);
    expect(map.delete('live')).toBeUndefined();
    expect(map.delete('dead')).toBeUndefined();
  });

  it('never holds more than maxEntries', () => {
    const clock = testClock();
    const map = new ExpiringMap<number>(5, clock);
    for (let i = 0; i < 50; i += 1) {
      map.setIfAbsent(`k${i}`, i, (i % 7) * 10 + 1);
      clock.advance(3);
      expect(map.size).toBeLessThanOrEqual(5);
    }
  });
});

describe('the verifier fails closed when the replay cache is full (RFC 9449 §11.1)', () => {
  let key: ProofKey;
  beforeAll(async () => {
    key = await makeProofKey('ES256');
  });

  it('throws StoreUnavailableError, not an acceptance, for a valid proof', async () => {
    const t = verifierFixture({ replayCacheMaxEntries: 2 });
    await t.verify(await t.proof(key));
    await t.verify(await t.proof(key));
    await expect(t.verify(await t.proof(key))).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('accepts proofs again once the window of the recorded ones, and their bucket, have passed', async () => {
    const t = verifierFixture({ replayCacheMaxEntries: 2 });
    await t.verify(await t.proof(key));
    await t.verify(await t.proof(key));
    // Entries last 60 001 ms (iat + maxAge, inclusive) and leave with their one-second bucket.
    t.clock.advance(60_999);
    await expect(t.verify(await t.proof(key))).rejects.toBeInstanceOf(StoreUnavailableError);
    t.clock.advance(1);
    await expect(t.verify(await t.proof(key))).resolves.toBeDefined();
  });

  it('still refuses a replay with its own reason when the cache is full', async () => {
    const t = verifierFixture({ replayCacheMaxEntries: 1 });
    const proof = await t.proof(key);
    await t.verify(proof);
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'replay');
  });
});

describe('replay cache bounds in the configuration (dpop section)', () => {
  it('defaults to 1 000 000 entries in total and 100 000 per owner', () => {
    const { dpop } = parseConfig({});
    expect(dpop.replayCacheMaxEntries).toBe(1_000_000);
    expect(dpop.replayCacheMaxEntriesPerOwner).toBe(100_000);
    expect(parseConfig({ dpop: { maxAgeSeconds: 30 } }).dpop.replayCacheMaxEntriesPerOwner).toBe(100_000);
  });

  it('takes both bounds from the environment', () => {
    const { dpop } = loadConfig({
      CONFIG_FILE: 'config/default.json',
      DPOP_REPLAY_CACHE_MAX_ENTRIES: '200000',
      DPOP_REPLAY_CACHE_MAX_ENTRIES_PER_OWNER: '250',
    });
    expect(dpop.replayCacheMaxEntries).toBe(200_000);
    expect(dpop.replayCacheMaxEntriesPerOwner).toBe(250);
  });

  it('refuses a per-owner bound below 1, naming the field', () => {
    expect(() => parseConfig({ dpop: { replayCacheMaxEntriesPerOwner: 0 } })).toThrow(/dpop\.replayCacheMaxEntriesPerOwner/);
    expect(() => loadConfig({ CONFIG_FILE: 'config/default.json', DPOP_REPLAY_CACHE_MAX_ENTRIES_PER_OWNER: 'many' })).toThrow(
      /dpop\.replayCacheMaxEntriesPerOwner/,
    );
  });
});
