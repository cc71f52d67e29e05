import type { ExpiringStore } from '../ports.js';
import { guarded } from './client.js';
import type { RedisClient } from './scripts.js';

/** JSON values with a TTL, one key each (so in any slot on Cluster). */
export class RedisExpiringStore<V> implements ExpiringStore<V> {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly name: string,
  ) {}

  private key(key: string): string {
    return `${this.prefix}${this.name}:${key}`;
  }

  async set(key: string, value: V, ttlMs: number): Promise<void> {
    await guarded(this.name, () => this.redis.set(this.key(key), JSON.stringify(value), 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async get(key: string): Promise<V | undefined> {
    const value = await guarded(this.name, () => this.redis.get(this.key(key)));
    return value === null ? undefined : (JSON.parse(value) as V);
  }

  async delete(key: string): Promise<void> {
    await guarded(this.name, () => this.redis.del(this.key(key)));
  }
}
