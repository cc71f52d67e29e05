import type { Redis } from 'ioredis';
import type { ConsumeResult } from '../ports.js';
import { guarded } from './client.js';

/**
 * Single-use records (codes, refresh tokens): the record under `<kind>:<hash>` and a "used"
 * marker under `<kind>-used:<hash>` with the same expiry. Marking is one Lua script, so two
 * instances redeeming the same code at once get one 'consumed' and one 'reused'.
 */
const consumeScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then ttl = 1 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ttl) then return 'consumed' end
return 'reused'`;

/** Consume KEYS[1..2], then store the successor KEYS[3] = ARGV[1] for ARGV[2] ms, all at once. */
const rotateScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then ttl = 1 end
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ttl) then return 'reused' end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
return 'consumed'`;

export class RedisSingleUseRecords<R> {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly kind: string,
  ) {}

  private keys(hash: string): [string, string] {
    return [`${this.prefix}${this.kind}:${hash}`, `${this.prefix}${this.kind}-used:${hash}`];
  }

  async save(hash: string, record: R, ttlMs: number): Promise<void> {
    await guarded(this.kind, () => this.redis.set(this.keys(hash)[0], JSON.stringify(record), 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async peek(hash: string): Promise<{ record: R; used: boolean } | undefined> {
    const [record, used] = await guarded(this.kind, () => this.redis.mget(...this.keys(hash)));
    return record ? { record: JSON.parse(record) as R, used: used !== null } : undefined;
  }

  async consume(hash: string): Promise<ConsumeResult> {
    return guarded(this.kind, () => this.redis.eval(consumeScript, 2, ...this.keys(hash)) as Promise<ConsumeResult>);
  }

  async rotate(oldHash: string, newHash: string, next: R, ttlMs: number): Promise<ConsumeResult> {
    const [record, used] = this.keys(oldHash);
    return guarded(
      this.kind,
      () => this.redis.eval(rotateScript, 3, record, used, this.keys(newHash)[0], JSON.stringify(next), Math.max(1, Math.ceil(ttlMs))) as Promise<ConsumeResult>,
    );
  }
}
