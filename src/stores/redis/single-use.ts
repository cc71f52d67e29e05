import type { ConsumeResult } from '../ports.js';
import { guarded } from './client.js';
import { entityKey } from './keys.js';
import { defineScript, type RedisClient, type Script } from './scripts.js';

/**
 * Single-use records (codes): the record under `{<kind>:<hash>}:record` and a "used" marker under
 * `{<kind>:<hash>}:used` with the same expiry, whose value says who used it. Marking is one Lua
 * script, so two instances redeeming the same code at once get one 'consumed' and one 'reused',
 * and the first marker is never replaced. Both keys carry the code's hash tag: one slot on Cluster.
 */
const consumeLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then ttl = 1 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ttl) then return 'consumed' end
return 'reused'`;

export class RedisSingleUseRecords<R> {
  private readonly consumeScript: Script;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly kind: string,
  ) {
    this.consumeScript = defineScript(redis, { name: 'singleUseConsume', keys: 2, lua: consumeLua });
  }

  private keys(hash: string): [string, string] {
    const entity = `${this.kind}:${hash}`;
    return [entityKey(this.prefix, entity, 'record'), entityKey(this.prefix, entity, 'used')];
  }

  async save(hash: string, record: R, ttlMs: number): Promise<void> {
    await guarded(this.kind, () => this.redis.set(this.keys(hash)[0], JSON.stringify(record), 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  /** The record and, once used, the marker it was used with (one MGET: both keys are in one slot). */
  async peek(hash: string): Promise<{ record: R; marker: string | undefined } | undefined> {
    const [record, marker] = await guarded(this.kind, () => this.redis.mget(...this.keys(hash)));
    return record ? { record: JSON.parse(record) as R, marker: marker ?? undefined } : undefined;
  }

  async consume(hash: string, marker: string): Promise<ConsumeResult> {
    return guarded(this.kind, () => this.consumeScript(this.keys(hash), [marker]) as Promise<ConsumeResult>);
  }
}
