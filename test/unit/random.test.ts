import { describe, expect, it } from 'vitest';
import { randomBase64url, randomBuffer } from '../../src/lib/random.js';

describe('random identifiers from the pooled CSPRNG (src/lib/random.ts)', () => {
  it('gives the asked number of bytes, as base64url of the right length', () => {
    expect(randomBuffer(16)).toHaveLength(16);
    expect(randomBase64url(16)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(randomBase64url(32)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('never hands out the same bytes twice, across many refills of the 4 KB pool', () => {
    const seen = new Set<string>();
    // 20 000 x 16 bytes: the pool is refilled about 78 times.
    for (let index = 0; index < 20_000; index++) seen.add(randomBase64url(16));
    expect(seen.size).toBe(20_000);
  });

  it('returns a copy: changing one buffer changes no later one', () => {
    const first = randomBuffer(32);
    first.fill(0);
    const second = randomBuffer(32);
    expect(second.equals(Buffer.alloc(32))).toBe(false);
  });

  it('spreads its bytes: every byte value turns up in 64 KB', () => {
    const counts = new Uint32Array(256);
    for (let index = 0; index < 256; index++) for (const byte of randomBuffer(256)) counts[byte]!++;
    expect(Math.min(...counts)).toBeGreaterThan(100);
    expect(Math.max(...counts)).toBeLessThan(420);
  });

  it.each([0, -1, 257, 1.5, Number.NaN])('refuses %s bytes', (bytes) => {
    expect(() => randomBuffer(bytes)).toThrow(RangeError);
  });
});
