import { createHash } from 'node:crypto';
import type { ConsentStore } from '../ports.js';
import { guarded } from './client.js';
import { defineScript, type RedisClient, type Script } from './scripts.js';

/** SADD and PEXPIRE in one step: the set never lives without its expiry, and no grant is lost. KEYS: the set; ARGV: ttl ms, then the scopes. */
const grantScript = `
redis.call('SADD', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

/** Each consent is a Redis set of scopes under `{consent:<hash of sub and client>}`. */
export class RedisConsentStore implements ConsentStore {
  private readonly grantConsent: Script;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.grantConsent = defineScript(redis, { name: 'grantConsent', keys: 1, lua: grantScript });
  }

  /** Hashed: a sub or client_id of any length or character (braces too) makes one fixed-size key. */
  private key(sub: string, clientId: string): string {
    const pair = createHash('sha256')
      .update(JSON.stringify([sub, clientId]))
      .digest('base64url');
    return `${this.prefix}{consent:${pair}}`;
  }

  async grant(sub: string, clientId: string, scopes: readonly string[], ttlMs: number): Promise<void> {
    if (scopes.length === 0) return;
    const key = this.key(sub, clientId);
    await guarded('consent store', () => this.grantConsent([key], [Math.max(1, Math.ceil(ttlMs)), ...scopes]));
  }

  async scopes(sub: string, clientId: string): Promise<string[]> {
    return guarded('consent store', () => this.redis.smembers(this.key(sub, clientId)));
  }
}
