import rateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { counterRateLimitStore } from '../../src/http/rate-limit-store.js';
import { MemoryFailureCounter } from '../../src/stores/memory/failure-counter.js';
import { testClock } from '../helpers/app.js';

describe('the @fastify/rate-limit store over a FailureCounter', () => {
  async function appWithCounter() {
    const app = Fastify();
    await app.register(rateLimit, { global: false, store: counterRateLimitStore(new MemoryFailureCounter(1000, testClock())) });
    return app;
  }

  it('counts each route limiter under its own name, and answers 429 past its max with the window left', async () => {
    const app = await appWithCounter();
    const limited = { config: { rateLimit: { max: 1, timeWindow: 60_000 } } };
    app.get('/one', limited, async () => 'one');
    app.get('/two', limited, async () => 'two');
    expect((await app.inject('/one')).statusCode).toBe(200);
    expect((await app.inject('/two')).statusCode).toBe(200);
    const refused = await app.inject('/one');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('60');
    await app.close();
  });

  it('refuses at start a limiter made with app.rateLimit() without a groupId, which could share counts with another', async () => {
    const app = await appWithCounter();
    expect(() => app.rateLimit({ max: 1 })).toThrow('a rate limit made with app.rateLimit() needs a groupId to name its counts');
    expect(() => app.rateLimit({ max: 1, groupId: 'named' })).not.toThrow();
    await app.close();
  });
});
