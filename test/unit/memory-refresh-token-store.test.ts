import { describe, expect, it } from 'vitest';
import { MemoryRefreshTokenStore } from '../../src/stores/memory/refresh-token-store.js';
import { StoreUnavailableError, type RefreshTokenRecord } from '../../src/stores/ports.js';
import { testClock } from '../helpers/app.js';

/** The in-memory refresh token store is bounded and fails closed; a failed rotation consumes nothing. */
describe('MemoryRefreshTokenStore.rotate when the store is full', () => {
  it('fails closed without retiring the old token, so the client can retry it (no false reuse detection)', async () => {
    const clock = testClock();
    const store = new MemoryRefreshTokenStore(1, clock);
    const record: RefreshTokenRecord = { grantId: 'g', clientId: 'spa', scopes: ['openid'], jkt: undefined, expiresAtMs: clock() + 60_000 };
    await store.save('old', record);

    await expect(store.rotate('old', 'next', record)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.peek('old')).toEqual({ record, used: false });
    expect(await store.peek('next')).toBeUndefined();
  });
});
