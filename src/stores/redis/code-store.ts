import type { AuthorizationCodeRecord, CodeRedemption, CodeStore, ConsumeResult } from '../ports.js';
import type { RedisClient } from './scripts.js';
import { RedisSingleUseRecords } from './single-use.js';

export class RedisCodeStore implements CodeStore {
  private readonly codes: RedisSingleUseRecords<AuthorizationCodeRecord>;

  constructor(redis: RedisClient, prefix: string) {
    this.codes = new RedisSingleUseRecords(redis, prefix, 'code');
  }

  save(codeHash: string, record: AuthorizationCodeRecord, ttlMs: number): Promise<void> {
    return this.codes.save(codeHash, record, ttlMs);
  }

  async peek(codeHash: string) {
    const entry = await this.codes.peek(codeHash);
    if (!entry) return undefined;
    if (entry.marker === undefined) return { record: entry.record, used: false };
    const redemption = JSON.parse(entry.marker) as { atMs: number; jkt?: string };
    return { record: entry.record, used: true, redemption: { atMs: redemption.atMs, jkt: redemption.jkt } };
  }

  consume(codeHash: string, redemption: CodeRedemption): Promise<ConsumeResult> {
    return this.codes.consume(codeHash, JSON.stringify(redemption));
  }
}
