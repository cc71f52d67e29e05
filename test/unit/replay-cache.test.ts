import { beforeAll, describe, expect, it } from 'vitest';
import { ExpiringMap } from '../../src/stores/memory/expiring-map.js';
import { MemoryReplayCache } from '../../src/stores/memory/replay-cache.js';
import { StoreUnavailableError } from '../../src/stores/ports.js';
import { testClock } from '../helpers/app.js';
import { makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { expectRefusal, verifierFixture } from '../helpers/dpop-verifier.js';

/** ReplayCache.claim: true once per key while recorded (RFC 9449 §11.1), bounded, failing closed. */

describe('MemoryReplayCache.claim is true once per key while the entry lives', () => {
  it('claims a new key, then refuses it while it lives', async () => {
    const cache = new MemoryReplayCache(10, testClock());
    await expect(cache.claim('k', 1000, 'owner')).resolves.toBe('claimed');
    await expect(cache.claim('k', 1000, 'owner')).resolves.toBe('replayed');
  });

  it('claims different keys independently', async () => {
    const cache = new MemoryReplayCache(10, testClock());
    await expect(cache.claim('a', 1000, 'owner')).resolves.toBe('claimed');
    await expect(cache.claim('b', 1000, 'owner')).resolves.toBe('claimed');
  });

  it('keeps the entry up to the last millisecond before its ttl ends, and lets the key be claimed from then on', async () => {
    const clock = testClock();
    const cache = new MemoryReplayCache(10, clock);
    await cache.claim('k', 1000, 'owner');
    clock.advance(999);
    await expect(cache.claim('k', 1000, 'owner')).resolves.toBe('replayed');
    clock.advance(1);
    await expect(cache.claim('k', 1000, 'owner')).resolves.toBe('claimed');
  });

  it('does not extend an entry when a claim is refused', async () => {
    const clock = testClock();
    const cache = new MemoryReplayCache(10, clock);
    await cache.claim('k', 1000, 'owner');
    clock.advance(500);
    await cache.claim('k', 1000, 'owner');
    clock.advance(500);
    await expect(cache.claim('k', 1000, 'owner')).resolves.toBe('claimed');
  });

  it('answers concurrent claims of one key with exactly one true', async () => {
    const cache = new MemoryReplayCache(10, testClock());
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.claim('k', 1000, 'owner')));
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
    await expect(cache.claim('a', 1000, 'owner')).resolves.toBe('replayed');
  });

  it('makes room by evicting expired entries, wherever they are', async () => {
    const clock = testClock();
    const cache = new MemoryReplayCache(3, clock);
    await cache.claim('long', 10_000, 'owner');
    await cache.claim('short-1', 100, 'owner');
    await cache.claim('short-2', 100, 'owner');
    clock.advance(100);
    await expect(cache.claim('c', 1000, 'owner')).resolves.toBe('claimed');
    await expect(cache.claim('d', 1000, 'owner')).resolves.toBe('claimed');
    await expect(cache.claim('long', 1000, 'owner')).resolves.toBe('replayed');
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

  it('accepts proofs again once the window of the recorded ones has passed', async () => {
    const t = verifierFixture({ replayCacheMaxEntries: 2 });
    await t.verify(await t.proof(key));
    await t.verify(await t.proof(key));
    t.clock.advance(60_001);
    await expect(t.verify(await t.proof(key))).resolves.toBeDefined();
  });

  it('still refuses a replay with its own reason when the cache is full', async () => {
    const t = verifierFixture({ replayCacheMaxEntries: 1 });
    const proof = await t.proof(key);
    await t.verify(proof);
    await expectRefusal(t.verify(proof), 'invalid_dpop_proof', 'replay');
  });
});
