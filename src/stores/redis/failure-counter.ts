import type { FailureCounter, FailureWindow } from '../ports.js';
import { guarded } from './client.js';
import { defineScript, type RedisClient, type Script } from './scripts.js';

/**
 * KEYS: the counter. ARGV: window ms. The window opens at the first hit (or at a hit on a
 * counter found without an expiry, which no other path writes) and is never extended, so a
 * caller kept at its limit is let in again when the window it opened ends.
 */
const hitLua = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

const peekLua = `
local count = redis.call('GET', KEYS[1])
if not count then return {0, 0} end
return {tonumber(count), redis.call('PTTL', KEYS[1])}`;

/**
 * Fixed-window counts shared by every instance: failed client authentications and the request
 * limits. `hit` is one script, so concurrent hits on several instances each get their own count.
 */
export class RedisFailureCounter implements FailureCounter {
  private readonly hitScript: Script;
  private readonly peekScript: Script;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.hitScript = defineScript(redis, { name: 'counterHit', keys: 1, lua: hitLua });
    this.peekScript = defineScript(redis, { name: 'counterPeek', keys: 1, lua: peekLua });
  }

  async hit(key: string, windowMs: number): Promise<FailureWindow> {
    const reply = await guarded('failure counter', () => this.hitScript([this.keyOf(key)], [Math.max(1, Math.ceil(windowMs))]));
    return windowOf(reply);
  }

  async peek(key: string): Promise<FailureWindow> {
    return windowOf(await guarded('failure counter', () => this.peekScript([this.keyOf(key)], [])));
  }

  private keyOf(key: string): string {
    return `${this.prefix}count:${key}`;
  }
}

function windowOf(reply: unknown): FailureWindow {
  const [count, ttl] = reply as [number, number];
  return { count, resetInMs: count > 0 && ttl > 0 ? ttl : 0 };
}
