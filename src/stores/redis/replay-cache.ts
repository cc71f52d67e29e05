import type { Redis } from 'ioredis';
import type { ReplayCache, ReplayClaim } from '../ports.js';
import { guarded } from './client.js';

/** RFC 9449 §11.1 replay check shared by every instance: one atomic SET NX PX. */
export class RedisReplayCache implements ReplayCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  claim(key: string, ttlMs: number, _owner: string): Promise<ReplayClaim> {
    return guarded('replay cache', async () =>
      (await this.redis.set(`${this.prefix}replay:${key}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK' ? 'claimed' : 'replayed',
    );
  }
}
