import { hash } from 'node:crypto';

/**
 * The pieces of the in-memory replay cache: 128-bit keys, and one time bucket of them held in
 * typed arrays (no object per entry), so a million live entries cost tens of bytes each.
 */

/** A replay key as four 32-bit words. */
export type KeyWords = Uint32Array;

const base64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const sextets = new Int8Array(128).fill(-1);
for (let index = 0; index < base64url.length; index++) sextets[base64url.charCodeAt(index)] = index;

const digestLength = 43;
const sextetOf = (key: string, index: number): number => {
  const code = key.charCodeAt(index);
  return code < 128 ? sextets[code]! : -1;
};

/**
 * Writes the 128 bits that stand for `key` into `words` (16 bytes, viewed as `bytes`). A DPoP
 * replay key is a base64url SHA-256 digest: its first 128 bits are taken as they are. Any other
 * key (a client assertion's client id and jti) is hashed with SHA-256 first. 128 bits keep
 * collisions negligible (about n²/2^129, 1e-27 for a million live keys), and a collision could
 * only refuse a fresh key as replayed, never let a replay through: a key always maps to the
 * same bits. Hashed and decoded keys are both SHA-256 prefixes, so they do not meet either.
 */
export function toKeyWords(key: string, bytes: Uint8Array): void {
  if (key.length === digestLength && decodeDigestPrefix(key, bytes)) return;
  bytes.set(hash('sha256', key, 'buffer').subarray(0, 16));
}

/** Decodes the first 16 bytes of a 43-character base64url string; false if it is not one. */
function decodeDigestPrefix(key: string, bytes: Uint8Array): boolean {
  for (let index = 22; index < digestLength; index++) if (sextetOf(key, index) < 0) return false;
  let out = 0;
  for (let index = 0; index < 20; index += 4) {
    const a = sextetOf(key, index);
    const b = sextetOf(key, index + 1);
    const c = sextetOf(key, index + 2);
    const d = sextetOf(key, index + 3);
    if ((a | b | c | d) < 0) return false;
    const group = (a << 18) | (b << 12) | (c << 6) | d;
    bytes[out++] = group >>> 16;
    bytes[out++] = (group >>> 8) & 0xff;
    bytes[out++] = group & 0xff;
  }
  const e = sextetOf(key, 20);
  const f = sextetOf(key, 21);
  if ((e | f) < 0) return false;
  bytes[15] = (e << 2) | (f >>> 4);
  return true;
}

/** Counts slots looked at, so that tests can check how much work a claim does. */
export interface ProbeCounter {
  slotsInspected: number;
}

const initialCapacity = 16;
// The first word, with its top bit set, is the slot's tag; 0 marks an empty slot.
const tagBit = 0x80000000;

/**
 * The entries that end within one granule (`endMs - granule`, `endMs`]: an open-addressing
 * table with linear probing. Entries are never removed one by one: the whole bucket is
 * dropped once `endMs` has passed, so the table needs no tombstones. Each entry remembers
 * when exactly it ends (an entry never ends earlier than asked) and which owner it is charged to.
 */
export class ReplayBucket {
  /** Entries charged to owners while the bucket lives (a key claimed again in place counts once). */
  entries = 0;
  private occupied = 0;
  private tags = new Uint32Array(initialCapacity);
  private rest = new Uint32Array(initialCapacity * 3);
  /** Per slot: 1 + how many ms before `endMs` the entry ends. */
  private endsBefore = new Uint16Array(initialCapacity);
  private ownerIds = new Uint32Array(initialCapacity);

  constructor(
    readonly endMs: number,
    private readonly probes: ProbeCounter,
  ) {}

  /** Whether `words` is held here and its entry has not ended at `now`. */
  holds(words: KeyWords, now: number): boolean {
    const slot = this.find(words);
    return slot >= 0 && now < this.endOf(slot);
  }

  /**
   * Records `words` until `endMs - msBeforeEnd` for owner `ownerId`. Returns the owner id the
   * slot held before when the key was already here (its entry has ended: the caller only adds
   * keys it does not hold live), else -1.
   */
  add(words: KeyWords, msBeforeEnd: number, ownerId: number): number {
    let slot = this.find(words);
    let previousOwner = -1;
    if (slot >= 0) {
      previousOwner = this.ownerIds[slot]!;
    } else {
      if ((this.occupied + 1) * 4 > this.tags.length * 3) {
        this.grow();
        slot = this.find(words);
      }
      slot = ~slot;
      this.tags[slot] = (words[0]! | tagBit) >>> 0;
      this.rest[slot * 3] = words[1]!;
      this.rest[slot * 3 + 1] = words[2]!;
      this.rest[slot * 3 + 2] = words[3]!;
      this.occupied++;
      this.entries++;
    }
    this.endsBefore[slot] = msBeforeEnd + 1;
    this.ownerIds[slot] = ownerId;
    return previousOwner;
  }

  /** Calls `release` with the owner id of every entry; used once, when the bucket is dropped. */
  forEachOwner(release: (ownerId: number) => void): void {
    const { tags, ownerIds } = this;
    for (let slot = 0; slot < tags.length; slot++) if (tags[slot] !== 0) release(ownerIds[slot]!);
  }

  /** Typed-array bytes held (for the benchmark). */
  get bytes(): number {
    return this.tags.byteLength + this.rest.byteLength + this.endsBefore.byteLength + this.ownerIds.byteLength;
  }

  private endOf(slot: number): number {
    return this.endMs - (this.endsBefore[slot]! - 1);
  }

  /** The slot holding `words` (>= 0), or the complement of the empty slot where it would go. */
  private find(words: KeyWords): number {
    const { tags, rest } = this;
    const mask = tags.length - 1;
    const tag = (words[0]! | tagBit) >>> 0;
    for (let slot = words[0]! & mask; ; slot = (slot + 1) & mask) {
      this.probes.slotsInspected++;
      const held = tags[slot]!;
      if (held === 0) return ~slot;
      if (held === tag && rest[slot * 3] === words[1] && rest[slot * 3 + 1] === words[2] && rest[slot * 3 + 2] === words[3]) return slot;
    }
  }

  private grow(): void {
    const { tags, rest, endsBefore, ownerIds } = this;
    const capacity = tags.length * 2;
    const mask = capacity - 1;
    this.tags = new Uint32Array(capacity);
    this.rest = new Uint32Array(capacity * 3);
    this.endsBefore = new Uint16Array(capacity);
    this.ownerIds = new Uint32Array(capacity);
    for (let from = 0; from < tags.length; from++) {
      const tag = tags[from]!;
      if (tag === 0) continue;
      let to = tag & mask;
      while (this.tags[to] !== 0) to = (to + 1) & mask;
      this.tags[to] = tag;
      this.rest[to * 3] = rest[from * 3]!;
      this.rest[to * 3 + 1] = rest[from * 3 + 1]!;
      this.rest[to * 3 + 2] = rest[from * 3 + 2]!;
      this.endsBefore[to] = endsBefore[from]!;
      this.ownerIds[to] = ownerIds[from]!;
    }
  }
}
