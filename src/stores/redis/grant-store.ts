import { grantTag, grantTagOfTokenId } from '../../lib/grant-tag.js';
import type { Clock } from '../../lib/clock.js';
import type { GrantAccessToken, GrantRecord, GrantStore } from '../ports.js';
import { guarded } from './client.js';
import { entityKey } from './keys.js';
import { grantDeniedKeyPrefix } from './revoked-tokens.js';
import { defineScript, type RedisClient, type Script } from './scripts.js';

/**
 * A grant is three keys with one expiry: the record, a revoked marker, and a sorted set of its
 * access tokens' jti scored by their expiry (so revocation can deny the live ones). The scripts
 * write the denylist entries (RedisRevokedTokens' keys) themselves, so marking the grant revoked
 * and denying its tokens is one atomic step. Every key, the denylist entries of its tokens
 * included, carries the grant's hash tag `{grant:<tag>}` (a token's jti names its grant's tag),
 * so on Redis Cluster they all live in one slot, where one script may write them all.
 */
const denyLua = `
local function deny(prefix, jti, expiresAt, now)
  local left = math.ceil(tonumber(expiresAt) - now)
  if left > 0 then redis.call('SET', prefix .. jti, '1', 'PX', left) end
end`;

/** KEYS: grant, revoked marker, tokens. ARGV: now, the grant's denylist key prefix. */
const revokeLua = `${denyLua}
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
 * KEYS: grant, revoked marker, tokens. ARGV: jti, expiresAt, now, maxLive, the grant's denylist key prefix.
 */
const addTokenLua = `${denyLua}
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
  private readonly revokeScript: Script;
  private readonly addTokenScript: Script;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly clock: Clock,
  ) {
    this.revokeScript = defineScript(redis, { name: 'grantRevoke', keys: 3, lua: revokeLua });
    this.addTokenScript = defineScript(redis, { name: 'grantAddToken', keys: 3, lua: addTokenLua });
  }

  private keys(id: string): [string, string, string] {
    const entity = `grant:${grantTag(id)}`;
    return [entityKey(this.prefix, entity, 'record'), entityKey(this.prefix, entity, 'revoked'), entityKey(this.prefix, entity, 'tokens')];
  }

  async create(grant: GrantRecord, ttlMs: number): Promise<void> {
    await guarded('grant store', () =>
      this.redis.set(this.keys(grant.id)[0], JSON.stringify(grant), 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'),
    );
  }

  async find(id: string): Promise<GrantRecord | undefined> {
    // One MGET: both keys are in the grant's slot.
    const [record, revoked] = await guarded('grant store', () => this.redis.mget(this.keys(id)[0], this.keys(id)[1]));
    return record && revoked === null ? (JSON.parse(record) as GrantRecord) : undefined;
  }

  async addAccessToken(grantId: string, token: GrantAccessToken, maxLive: number): Promise<boolean> {
    const tag = grantTag(grantId);
    // Its denylist entry must be where the token check looks for it, which the jti decides.
    if (grantTagOfTokenId(token.jti) !== tag)
      throw new Error('grant store: the access token jti does not name its grant (newGrantTokenId)');
    const added = await guarded('grant store', () =>
      this.addTokenScript(this.keys(grantId), [
        token.jti,
        token.expiresAtMs,
        this.clock(),
        Math.max(1, maxLive),
        grantDeniedKeyPrefix(this.prefix, tag),
      ]),
    );
    return added === 1;
  }

  async revoke(grantId: string): Promise<void> {
    await guarded('grant store', () =>
      this.revokeScript(this.keys(grantId), [this.clock(), grantDeniedKeyPrefix(this.prefix, grantTag(grantId))]),
    );
  }
}
