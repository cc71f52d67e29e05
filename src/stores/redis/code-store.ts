import type { Redis } from 'ioredis';
import type { AuthorizationCodeRecord, CodeStore, ConsumeResult } from '../ports.js';
import { RedisSingleUseRecords } from './single-use.js';

export class RedisCodeStore implements CodeStore {
  private readonly codes: RedisSingleUseRecords<AuthorizationCodeRecord>;

  constructor(redis: Redis, prefix: string) {
    this.codes = new RedisSingleUseRecords(redis, prefix, 'code');
  }

  save(codeHash: string, record: AuthorizationCodeRecord, ttlMs: number): Promise<void> {
    return this.codes.save(codeHash, record, ttlMs);
  }

  peek(codeHash: string) {
    return this.codes.peek(codeHash);
  }

  consume(codeHash: string): Promise<ConsumeResult> {
    return this.codes.consume(codeHash);
  }
}
