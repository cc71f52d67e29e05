import { describe, expect, it } from 'vitest';
import { MemoryRefreshTokenStore } from '../../src/stores/memory/refresh-token-store.js';
import { StoreUnavailableError, type RefreshTokenFamily } from '../../src/stores/ports.js';
import { testClock } from '../helpers/app.js';

/** The in-memory refresh token store is bounded and fails closed, one record per grant. */
describe('MemoryRefreshTokenStore when the store is full', () => {
  const family = (clock: () => number, currentHash: string): RefreshTokenFamily => ({
    grantId: `grant-${currentHash}`,
    clientId: 'spa',
    scopes: ['openid'],
    jkt: undefined,
    expiresAtMs: clock() + 60_000,
    generation: 0,
    currentHash,
    previousHash: undefined,
    issuedAtMs: clock(),
    sealedCurrent: 'sealed',
  });

  it('refuses a new family with StoreUnavailableError, leaving the families it has alone', async () => {
    const clock = testClock();
    const store = new MemoryRefreshTokenStore(1, clock);
    await store.create('a', family(clock, 'first'));
    await expect(store.create('b', family(clock, 'second'))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.find('a')).toEqual(family(clock, 'first'));
  });

  it('still rotates: a rotation replaces its own record and needs no room, however often it runs', async () => {
    const clock = testClock();
    const store = new MemoryRefreshTokenStore(1, clock);
    await store.create('a', family(clock, 'hash-0'));
    for (let generation = 1; generation <= 1000; generation++) {
      clock.advance(1000);
      const next = { hash: `hash-${generation}`, sealed: 's', jkt: undefined, issuedAtMs: clock(), expiresAtMs: clock() + 60_000 };
      expect((await store.rotate('a', `hash-${generation - 1}`, next)).outcome).toBe('rotated');
    }
    expect(await store.find('a')).toMatchObject({ generation: 1000, currentHash: 'hash-1000', previousHash: 'hash-999' });
  });
});
