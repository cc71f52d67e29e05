import type { Redis } from 'ioredis';
import type { Clock, GrantRecord, GrantStore } from '../ports.js';
import { guarded } from './client.js';

/**
 * A grant is three keys with one expiry: the record, a revoked marker, and a sorted set of its
 * access tokens' jti scored by their expiry (so revocation can deny the live ones).
 */
const revokeScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then ttl = 1 end
redis.call('SET', KEYS[2], '1', 'PX', ttl)
return redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf', 'WITHSCORES')`;

/** Atomic with revokeScript: a token is either recorded before the revocation or refused after it. */
const addTokenScript = `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then ttl = 1 end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])
redis.call('PEXPIRE', KEYS[3], ttl)
return 1`;

export class RedisGrantStore implements GrantStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly clock: Clock,
  ) {}

  private keys(id: string): [string, string, string] {
    return [`${this.prefix}grant:${id}`, `${this.prefix}grant-revoked:${id}`, `${this.prefix}grant-tokens:${id}`];
  }

  async create(grant: GrantRecord, ttlMs: number): Promise<void> {
    await guarded('grant store', () => this.redis.set(this.keys(grant.id)[0], JSON.stringify(grant), 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'));
  }

  async find(id: string): Promise<GrantRecord | undefined> {
    const [record, revoked] = await guarded('grant store', () => this.redis.mget(this.keys(id)[0], this.keys(id)[1]));
    return record && revoked === null ? (JSON.parse(record) as GrantRecord) : undefined;
  }

  async addAccessToken(grantId: string, jti: string, expiresAtMs: number): Promise<boolean> {
    const added = await guarded('grant store', () =>
      this.redis.eval(addTokenScript, 3, ...this.keys(grantId), jti, expiresAtMs, this.clock()),
    );
    return added === 1;
  }

  async revoke(grantId: string): Promise<Array<{ jti: string; expiresAtMs: number }>> {
    const flat = (await guarded('grant store', () => this.redis.eval(revokeScript, 3, ...this.keys(grantId), this.clock()))) as string[];
    const live: Array<{ jti: string; expiresAtMs: number }> = [];
    for (let index = 0; index + 1 < flat.length; index += 2) live.push({ jti: flat[index]!, expiresAtMs: Number(flat[index + 1]) });
    return live;
  }
}
