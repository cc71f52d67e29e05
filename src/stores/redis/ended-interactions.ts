import type { EndedInteractions } from '../ports.js';
import { guarded } from './client.js';
import type { RedisClient } from './scripts.js';

/** SET NX PX under `{interaction:<id>}:ended`: of two instances ending one sign-in at once, one wins. */
export class RedisEndedInteractions implements EndedInteractions {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async end(interactionId: string, ttlMs: number): Promise<boolean> {
    const key = `${this.prefix}{interaction:${interactionId}}:ended`;
    const set = await guarded('ended-interaction store', () => this.redis.set(key, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'));
    return set === 'OK';
  }
}
