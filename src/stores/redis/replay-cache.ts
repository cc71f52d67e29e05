import type { Clock } from '../../lib/clock.js';
import type { ReplayCache, ReplayClaim } from '../ports.js';
import { guarded } from './client.js';
import { entityKey } from './keys.js';
import { defineScript, type RedisClient, type Script } from './scripts.js';

/**
 * KEYS: the owner's claim counter of this window, and of the previous one. ARGV: the owner's
 * bound, ms elapsed in this window, window ms. 1 and one more claim counted, or 0 at the bound.
 * The owner's count is a sliding window: the previous window's claims weigh by how much of it
 * still lies within the last `window` ms. Entries live at most about a window (the proof's
 * acceptance window), so this counts the owner's live entries, as the memory cache does.
 */
const reserveLua = `
local window = tonumber(ARGV[3])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if current + previous * (window - tonumber(ARGV[2])) / window >= tonumber(ARGV[1]) then return 0 end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], 2 * window) end
return 1`;

/** KEYS: the counter a reservation counted in. Gives the claim back, unless the counter has ended. */
const refundLua = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
return 1`;

export interface RedisReplayLimits {
  /** Claims one owner may make within a window (about its live entries). */
  maxEntriesPerOwner: number;
  /** The window: the longest a DPoP proof is accepted (maxAge + maxFuture). */
  windowMs: number;
}

/**
 * RFC 9449 §11.1 replay check shared by every instance. The entry is `SET NX PX` on its own
 * key, which does not depend on the owner: a proof is claimed once whoever presents it. The
 * owner's count lives under the owner's hash tag, in another slot on Cluster, so a claim is
 * two steps: reserve a place in the owner's count (one script: concurrent claims on several
 * instances never exceed the bound), then set the entry; a claim that finds the entry taken
 * gives its place back. Between the steps the count can only be too high (a crash before the
 * refund, a replay counted for a moment): the bound may refuse early, never let more through.
 */
export class RedisReplayCache implements ReplayCache {
  private readonly reserveScript: Script;
  private readonly refundScript: Script;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly limits: RedisReplayLimits = { maxEntriesPerOwner: Number.MAX_SAFE_INTEGER, windowMs: 65_000 },
    private readonly clock: Clock = Date.now,
  ) {
    this.reserveScript = defineScript(redis, { name: 'replayReserve', keys: 2, lua: reserveLua });
    this.refundScript = defineScript(redis, { name: 'replayRefund', keys: 1, lua: refundLua });
  }

  claim(key: string, ttlMs: number, owner: string): Promise<ReplayClaim> {
    return guarded('replay cache', async () => {
      const entry = `${this.prefix}replay:${key}`;
      const ttl = ttlMs > 1 ? Math.ceil(ttlMs) : 1;
      // Without a bound there is nothing to count: the entry alone decides.
      if (this.limits.maxEntriesPerOwner >= Number.MAX_SAFE_INTEGER) return (await this.setEntry(entry, ttl)) ? 'claimed' : 'replayed';
      const counter = await this.reserve(owner);
      // At the bound a replay is still answered as one, and nothing is recorded.
      if (counter === undefined) return (await this.redis.exists(entry)) === 1 ? 'replayed' : 'owner_limit';
      if (await this.setEntry(entry, ttl)) return 'claimed';
      await this.refundScript([counter], []);
      return 'replayed';
    });
  }

  private async setEntry(entry: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(entry, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** The counter the claim was counted in, or undefined when the owner is at its bound. */
  private async reserve(owner: string): Promise<string | undefined> {
    const { maxEntriesPerOwner, windowMs } = this.limits;
    const now = this.clock();
    const window = Math.floor(now / windowMs);
    // The owner is the hash tag (both windows in one slot) and the window number the last part: no two (owner, window) pairs meet.
    const counter = (index: number) => entityKey(this.prefix, `replay-owner:${owner}`, String(index));
    const current = counter(window);
    const reserved = await this.reserveScript([current, counter(window - 1)], [maxEntriesPerOwner, now - window * windowMs, windowMs]);
    return reserved === 1 ? current : undefined;
  }
}
