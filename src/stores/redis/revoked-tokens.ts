import type { Redis } from 'ioredis';
import type { Clock, RevokedTokens } from '../ports.js';
import { guarded } from './client.js';

export class RedisRevokedTokens implements RevokedTokens {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly clock: Clock,
  ) {}

  async revoke(jti: string, expiresAtMs: number): Promise<void> {
    const ttl = Math.ceil(expiresAtMs - this.clock());
    if (ttl <= 0) return;
    await guarded('revocation list', () => this.redis.set(`${this.prefix}revoked:${jti}`, '1', 'PX', ttl));
  }

  isRevoked(jti: string): Promise<boolean> {
    return guarded('revocation list', async () => (await this.redis.exists(`${this.prefix}revoked:${jti}`)) === 1);
  }
}
