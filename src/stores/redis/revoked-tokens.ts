import { grantTagOfTokenId } from '../../lib/grant-tag.js';
import type { Clock } from '../../lib/clock.js';
import type { RevokedTokens } from '../ports.js';
import { guarded } from './client.js';
import { entityKey } from './keys.js';
import type { RedisClient } from './scripts.js';

/**
 * Where a grant's scripts deny its tokens: `<prefix>{grant:<tag>}:denied:<jti>`, in the grant's
 * slot, so that revoking the grant and denying its live tokens stays one script on Cluster.
 */
export function grantDeniedKeyPrefix(prefix: string, tag: string): string {
  return entityKey(prefix, `grant:${tag}`, 'denied:');
}

/**
 * The denylist entry of `jti`: beside its grant's keys when the `jti` names a grant (see
 * src/lib/grant-tag.ts), else `<prefix>revoked:<jti>` (client-credentials tokens).
 */
export function revokedTokenKey(prefix: string, jti: string): string {
  const tag = grantTagOfTokenId(jti);
  return tag === undefined ? `${prefix}revoked:${jti}` : `${grantDeniedKeyPrefix(prefix, tag)}${jti}`;
}

export class RedisRevokedTokens implements RevokedTokens {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly clock: Clock,
  ) {}

  async revoke(jti: string, expiresAtMs: number): Promise<void> {
    const ttl = Math.ceil(expiresAtMs - this.clock());
    if (ttl <= 0) return;
    await guarded('revocation list', () => this.redis.set(revokedTokenKey(this.prefix, jti), '1', 'PX', ttl));
  }

  isRevoked(jti: string): Promise<boolean> {
    return guarded('revocation list', async () => (await this.redis.exists(revokedTokenKey(this.prefix, jti))) === 1);
  }
}
