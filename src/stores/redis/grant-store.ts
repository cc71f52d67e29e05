import type { Redis } from 'ioredis';
import type { Clock, GrantAccessToken, GrantRecord, GrantStore } from '../ports.js';
import { guarded } from './client.js';
import { revokedTokenKeyPrefix } from './revoked-tokens.js';

/**
 * A grant is three keys with one expiry: the record, a revoked marker, and a sorted set of its
 * access tokens' jti scored by their expiry (so revocation can deny the live ones). The scripts
 * write the denylist entries (RedisRevokedTokens' keys) themselves, so marking the grant revoked
 * and denying its tokens is one atomic step. Those keys are named inside the script: fine on one
 * Redis server, which is what this adapter targets (Redis Cluster would need hash tags).
 */
const denyLua = `
local function deny(prefix, jti, expiresAt, now)
  local left = math.ceil(tonumber(expiresAt) - now)
  if left > 0 then redis.call('SET', prefix .. jti, '1', 'PX', left) end
end`;

/** KEYS: grant, revoked marker, tokens. ARGV: now, denylist key prefix. */
const revokeScript = `${denyLua}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then ttl = 1 end
redis.call('SET', KEYS[2], '1', 'PX', ttl)
local now = tonumber(ARGV[1])
local live = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf', 'WITHSCORES')
for i = 1, #live, 2 do deny(ARGV[2], live[i], live[i + 1], now) end
return #live / 2`;

/**
 * Atomic with revokeScript: a token is either recorded before the revocation or refused after it.
 * KEYS: grant, revoked marker, tokens. ARGV: jti, expiresAt, now, maxLive, denylist key prefix.
 */
const addTokenScript = `${denyLua}
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then ttl = 1 end
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])
local excess = redis.call('ZCARD', KEYS[3]) + 1 - tonumber(ARGV[4])
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[3], excess)
  for i = 1, #oldest, 2 do deny(ARGV[5], oldest[i], oldest[i + 1], now) end
end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
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

  async addAccessToken(grantId: string, token: GrantAccessToken, maxLive: number): Promise<boolean> {
    const added = await guarded('grant store', () =>
      this.redis.eval(
        addTokenScript,
        3,
        ...this.keys(grantId),
        token.jti,
        token.expiresAtMs,
        this.clock(),
        Math.max(1, maxLive),
        revokedTokenKeyPrefix(this.prefix),
      ),
    );
    return added === 1;
  }

  async revoke(grantId: string): Promise<void> {
    await guarded('grant store', () => this.redis.eval(revokeScript, 3, ...this.keys(grantId), this.clock(), revokedTokenKeyPrefix(this.prefix)));
  }
}
