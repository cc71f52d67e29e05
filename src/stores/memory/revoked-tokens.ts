import { StoreUnavailableError, type Clock, type RevokedTokens } from '../ports.js';
import { ExpiringMap } from './expiring-map.js';

/** In-memory access-token denylist by `jti`, each entry kept until the token's `exp`. */
export class MemoryRevokedTokens implements RevokedTokens {
  private readonly revoked: ExpiringMap<true>;

  constructor(
    maxEntries: number,
    private readonly clock: Clock,
  ) {
    this.revoked = new ExpiringMap(maxEntries, clock);
  }

  async revoke(jti: string, expiresAtMs: number): Promise<void> {
    const ttl = expiresAtMs - this.clock();
    if (ttl <= 0) return;
    if (!this.revoked.set(jti, true, ttl)) throw new StoreUnavailableError('revocation list is full');
  }

  async isRevoked(jti: string): Promise<boolean> {
    return this.revoked.get(jti) === true;
  }
}
