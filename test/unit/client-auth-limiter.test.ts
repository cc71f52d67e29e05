import { describe, expect, it } from 'vitest';
import { ClientAuthLimiter, addressBlock } from '../../src/oauth/client-auth-limiter.js';
import { OAuthError } from '../../src/lib/oauth-error.js';
import { MemoryFailureCounter } from '../../src/stores/memory/failure-counter.js';
import { testClock } from '../helpers/app.js';

describe('MemoryFailureCounter', () => {
  it('counts failures in a fixed window that opens at the first one', async () => {
    const clock = testClock();
    const counter = new MemoryFailureCounter(100, clock);
    expect(await counter.peek('k')).toEqual({ count: 0, resetInMs: 0 });
    expect(await counter.hit('k', 60_000)).toEqual({ count: 1, resetInMs: 60_000 });
    clock.advance(15_000);
    expect(await counter.hit('k', 60_000)).toEqual({ count: 2, resetInMs: 45_000 });
    expect(await counter.peek('k')).toEqual({ count: 2, resetInMs: 45_000 });
    clock.advance(45_000);
    expect(await counter.peek('k')).toEqual({ count: 0, resetInMs: 0 });
    expect(await counter.hit('k', 60_000)).toEqual({ count: 1, resetInMs: 60_000 });
  });

  it('holds at most maxKeys windows, dropping the oldest first when made-up keys pour in', async () => {
    const clock = testClock();
    const counter = new MemoryFailureCounter(100, clock);
    await counter.hit('oldest', 60_000);
    clock.advance(1);
    for (let key = 0; key < 99; key++) await counter.hit(`flood-${key}`, 60_000);
    expect(counter.size).toBe(100);
    expect((await counter.peek('oldest')).count).toBe(1);
    await counter.hit('newest', 60_000);
    // Full: the oldest tenth goes in one pass, so the next inserts need no pass at all.
    expect(counter.size).toBe(91);
    expect(await counter.peek('oldest')).toEqual({ count: 0, resetInMs: 0 });
    expect(await counter.peek('flood-8')).toEqual({ count: 0, resetInMs: 0 });
    expect((await counter.peek('flood-9')).count).toBe(1);
    expect((await counter.peek('newest')).count).toBe(1);
    for (let key = 99; key < 10_000; key++) await counter.hit(`flood-${key}`, 60_000);
    expect(counter.size).toBeLessThanOrEqual(100);
    expect((await counter.peek('flood-9999')).count).toBe(1);
  });

  it('drops ended windows before live ones', async () => {
    const clock = testClock();
    const counter = new MemoryFailureCounter(100, clock);
    for (let key = 0; key < 50; key++) await counter.hit(`early-${key}`, 1000);
    for (let key = 0; key < 50; key++) await counter.hit(`late-${key}`, 60_000);
    clock.advance(1000);
    await counter.hit('new', 60_000);
    expect(counter.size).toBe(51);
    expect((await counter.peek('late-0')).count).toBe(1);
  });
});

describe('ClientAuthLimiter', () => {
  const limits = { maxFailuresPerClient: 2, maxFailuresPerAddress: 3, windowSeconds: 60 };

  async function refusal(
    limiter: ClientAuthLimiter,
    attempt: Parameters<ClientAuthLimiter['assertAllowed']>[0],
  ): Promise<OAuthError | undefined> {
    try {
      await limiter.assertAllowed(attempt);
      return undefined;
    } catch (error) {
      if (error instanceof OAuthError) return error;
      throw error;
    }
  }

  it('refuses with 429 temporarily_unavailable, reason client_auth_rate_limited and the seconds left', async () => {
    const clock = testClock();
    const limiter = new ClientAuthLimiter(new MemoryFailureCounter(100, clock), limits);
    const attempt = { secretClientId: 'c', address: '192.0.2.1' };
    await limiter.recordFailure(attempt);
    expect(await refusal(limiter, attempt)).toBeUndefined();
    clock.advance(500);
    await limiter.recordFailure(attempt);
    const refused = await refusal(limiter, attempt);
    expect(refused).toMatchObject({ code: 'temporarily_unavailable', reason: 'client_auth_rate_limited', retryAfterSeconds: 60 });
    clock.advance(59_000);
    expect((await refusal(limiter, attempt))?.retryAfterSeconds).toBe(1);
    clock.advance(500);
    expect(await refusal(limiter, attempt)).toBeUndefined();
  });

  it('counts an attempt without a secret against its address only', async () => {
    const limiter = new ClientAuthLimiter(new MemoryFailureCounter(100, testClock()), limits);
    for (let failure = 0; failure < 3; failure++) await limiter.recordFailure({ secretClientId: undefined, address: '192.0.2.2' });
    expect(await refusal(limiter, { secretClientId: 'c', address: '192.0.2.3' })).toBeUndefined();
    expect((await refusal(limiter, { secretClientId: 'c', address: '192.0.2.2' }))?.reason).toBe('client_auth_rate_limited');
  });

  it('keys a client_id of any length in fixed space', async () => {
    const counter = new MemoryFailureCounter(100, testClock());
    const limiter = new ClientAuthLimiter(counter, limits);
    await limiter.recordFailure({ secretClientId: 'x'.repeat(60_000), address: undefined });
    await limiter.recordFailure({ secretClientId: 'x'.repeat(60_000), address: undefined });
    expect(counter.size).toBe(1);
    expect((await refusal(limiter, { secretClientId: 'x'.repeat(60_000), address: undefined }))?.retryAfterSeconds).toBeGreaterThan(0);
    expect(await refusal(limiter, { secretClientId: 'x'.repeat(59_999), address: undefined })).toBeUndefined();
  });
});

describe('addressBlock', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['2001:db8:1:2:3:4:192.0.2.1', '2001:db8:1:2::/64'],
    ['not-an-address', 'not-an-address'],
  ])('counts %s in %s', (address, block) => {
    expect(addressBlock(address)).toBe(block);
  });
});
