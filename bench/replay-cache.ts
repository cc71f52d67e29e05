/**
 * Replay cache: memory per live entry and the cost of a claim, the bucketed MemoryReplayCache
 * against the ExpiringMap-based cache it replaced (kept here as ExpiringMap.setIfAbsent, which
 * was all that cache did):
 *   npx tsx bench/replay-cache.ts [liveEntries=1000000]
 * Times are CPU time per call (the machine is shared). Memory is the growth of heapUsed + arrayBuffers (typed arrays live outside the V8 heap) after
 * a full gc, from an empty cache to `liveEntries` live entries. Keys are base64url SHA-256
 * digests (as DPoP replay keys are), TTLs spread over 60 s (as a minute of proofs is).
 */
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ExpiringMap } from '../src/stores/memory/expiring-map.js';
import { MemoryReplayCache } from '../src/stores/memory/replay-cache.js';
import { StoreUnavailableError } from '../src/stores/ports.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const liveEntries = Number(process.argv[2] ?? 1_000_000);
const now = Date.UTC(2026, 10, 29, 12, 0, 0);
const clock = () => now;

const digest = (index: number) => createHash('sha256').update(`jkt\n${index}`).digest('base64url');
const ttlOf = (index: number) => 1000 + (index % 60) * 1000;

function heapBytes(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** CPU µs per call (user + system): steadier than wall time on a shared machine. */
async function timePerCall(count: number, run: (index: number) => Promise<unknown> | unknown): Promise<number> {
  const started = process.cpuUsage();
  for (let index = 0; index < count; index++) await run(index);
  const { user, system } = process.cpuUsage(started);
  return (user + system) / count;
}

async function bucketed(owners: number): Promise<void> {
  const before = heapBytes();
  const cache = new MemoryReplayCache(liveEntries, clock);
  const claimed =
    (await timePerCall(liveEntries, (index) => cache.claim(digest(index), ttlOf(index), `client:${index % owners}`))) - digestCost;
  const bytes = (heapBytes() - before) / liveEntries;
  const refused = await timePerCall(100_000, async (index) => {
    try {
      await cache.claim(digest(liveEntries + index), 60_000, 'client:0');
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
    }
  });
  const replayed = await timePerCall(100_000, (index) => cache.claim(digest(index), 60_000, 'client:0'));
  console.log(
    `bucketed, ${String(owners).padStart(7)} owners: ${bytes.toFixed(0).padStart(4)} B/entry (tables ${(cache.tableBytes / liveEntries).toFixed(0)} B), ` +
      `claim ${claimed.toFixed(2)} µs while filling, refused when full ${(refused - digestCost).toFixed(2)} µs, ` +
      `replay ${(replayed - digestCost).toFixed(2)} µs, ${cache.bucketCount} buckets`,
  );
}

async function expiringMap(): Promise<void> {
  const before = heapBytes();
  const map = new ExpiringMap<true>(liveEntries, clock);
  const claimed = (await timePerCall(liveEntries, (index) => map.setIfAbsent(digest(index), true, ttlOf(index)))) - digestCost;
  const bytes = (heapBytes() - before) / liveEntries;
  // Each refused claim sweeps every entry: a few suffice.
  const refused = await timePerCall(20, (index) => {
    if (map.setIfAbsent(digest(liveEntries + index), true, 60_000) !== null) throw new Error('expected a full map');
  });
  console.log(
    `ExpiringMap (before):          ${bytes.toFixed(0).padStart(4)} B/entry, claim ${claimed.toFixed(2)} µs while filling, refused when full ${refused.toFixed(0)} µs`,
  );
}

/** Client assertions live up to 305 s: a claim then looks into about 305 buckets. */
async function longTtls(): Promise<void> {
  const entries = 100_000;
  const cache = new MemoryReplayCache(entries, clock);
  for (let index = 0; index < entries; index++) await cache.claim(digest(index), 1000 + (index % 305) * 1000, 'client:0');
  const refused = await timePerCall(50_000, async (index) => {
    try {
      await cache.claim(digest(entries + index), 60_000, 'client:0');
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
    }
  });
  console.log(
    `bucketed, TTLs up to 305 s:   refused when full ${(refused - digestCost).toFixed(2)} µs over ${cache.bucketCount} buckets (${entries} entries)`,
  );
}

// Making a key costs about a microsecond; it is measured once and taken off every figure below.
const digestCost = await timePerCall(200_000, (index) => digest(index));
/** The only per-entry work: when a bucket passes, its slots pay back their owners' shares. Worst case: every entry in one second. */
async function dropCost(): Promise<void> {
  let at = now;
  const cache = new MemoryReplayCache(liveEntries, () => at);
  for (let index = 0; index < liveEntries; index++) await cache.claim(digest(index), 60_000, `client:${index % 1000}`);
  at += 61_000;
  const started = process.cpuUsage();
  await cache.claim(digest(-1), 60_000, 'client:0');
  const { user, system } = process.cpuUsage(started);
  console.log(
    `bucketed, one bucket of ${liveEntries} entries passing: the claim that drops it takes ${((user + system) / 1000).toFixed(1)} ms`,
  );
}

console.log(`${liveEntries} live entries, Node ${process.version}; times per call without the ${digestCost.toFixed(2)} µs of making a key`);
await bucketed(1000);
await bucketed(liveEntries);
await longTtls();
await dropCost();
await expiringMap();
