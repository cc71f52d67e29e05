import type { Redis } from 'ioredis';
import type { Clock, ConsumeResult, RefreshTokenRecord, RefreshTokenStore } from '../ports.js';
import { RedisSingleUseRecords } from './single-use.js';

export class RedisRefreshTokenStore implements RefreshTokenStore {
  private readonly tokens: RedisSingleUseRecords<RefreshTokenRecord>;

  constructor(
    redis: Redis,
    prefix: string,
    private readonly clock: Clock,
  ) {
    this.tokens = new RedisSingleUseRecords(redis, prefix, 'refresh');
  }

  save(tokenHash: string, record: RefreshTokenRecord): Promise<void> {
    return this.tokens.save(tokenHash, record, record.expiresAtMs - this.clock());
  }

  peek(tokenHash: string) {
    return this.tokens.peek(tokenHash);
  }

  rotate(oldHash: string, newHash: string, next: RefreshTokenRecord): Promise<ConsumeResult> {
    return this.tokens.rotate(oldHash, newHash, next, next.expiresAtMs - this.clock());
  }
}
