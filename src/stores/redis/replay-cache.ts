import type { Redis } from 'ioredis';
import type { Clock, ReplayCache, ReplayClaim } from '../ports.js';
import { guarded } from './client.js';

/**
 * KEYS: the replay key, the owner's claim counter of this window, and of the previous one.
 * ARGV: ttl ms, the owner's bound, ms elapsed in this window, window ms.
 * A replay is answered first (even for an owner at its bound); a refused claim records nothing.
 * The owner's count is a sliding window: the previous window's claims weigh by how much of it
 * still lies within the last `window` ms. Entries live at most about a window (the proof's
 * acceptance window), so this counts the owner's live entries, as the memory cache does.
 */
const claimScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'replayed' end
local window = tonumber(ARGV[4])
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
local previous = tonumber(redis.call('GET', KEYS[3]) or '0')
if current + previous * (window - tonumber(ARGV[3])) / window >= tonumber(ARGV[2]) then return 'owner_limit' end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], 2 * window) end
return 'claimed'`;

export interface RedisReplayLimits {
  /** Claims one owner may make within a window (about its live entries). */
  maxEntriesPerOwner: number;
  /** The window: the longest a DPoP proof is accepted (maxAge + maxFuture). */
  windowMs: number;
}

/**
 * RFC 9449 §11.1 replay check shared by every instance: SET NX PX and the owner's counter, in one
 * Lua script, so that concurrent claims on several instances neither replay nor exceed the bound.
 * The keys of one claim live in different hash slots: a single Redis (or a primary with replicas), not Cluster.
 */
export class RedisReplayCache implements ReplayCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: RedisReplayLimits = { maxEntriesPerOwner: Number.MAX_SAFE_INTEGER, windowMs: 65_000 },
    private readonly clock: Clock = Date.now,
  ) {}

  claim(key: string, ttlMs: number, owner: string): Promise<ReplayClaim> {
    const { maxEntriesPerOwner, windowMs } = this.limits;
    const now = this.clock();
    const window = Math.floor(now / windowMs);
    // The owner is the counter key's middle part and the window number its last: no two (owner, window) pairs meet.
    const counter = (index: number) => `${this.prefix}replay-owner:${owner}:${index}`;
    return guarded(
      'replay cache',
      () =>
        this.redis.eval(
          claimScript,
          3,
          `${this.prefix}replay:${key}`,
          counter(window),
          counter(window - 1),
          ttlMs > 1 ? Math.ceil(ttlMs) : 1,
          maxEntriesPerOwner,
          now - window * windowMs,
          windowMs,
        ) as Promise<ReplayClaim>,
    );
  }
}
