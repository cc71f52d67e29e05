import type { Redis } from 'ioredis';
import type { Clock, RevokedTokens } from '../ports.js';
import { guarded } from './client.js';

/** Where the denylist entry of `jti` lives; the grant store's scripts write the same keys. */
export function revokedTokenKeyPrefix(prefix: string): string {
  return `${prefix}revoked:`;
}

export class RedisRevokedTokens implements RevokedTokens {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly clock: Clock,
  ) {}

  async revoke(jti: string, expiresAtMs: number): Promise<void> {
    const ttl = Math.ceil(expiresAtMs - this.clock());
    if (ttl <= 0) return;
    await guarded('revocation list', () => this.redis.set(`${revokedTokenKeyPrefix(this.prefix)}${jti}`, '1', 'PX', ttl));
  }

  isRevoked(jti: string): Promise<boolean> {
    return guarded('revocation list', async () => (await this.redis.exists(`${revokedTokenKeyPrefix(this.prefix)}${jti}`)) === 1);
  }
}
