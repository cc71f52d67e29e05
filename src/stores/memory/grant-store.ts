import { StoreUnavailableError, type Clock, type GrantRecord, type GrantStore } from '../ports.js';
import { ExpiringMap } from './expiring-map.js';

interface GrantEntry {
  grant: GrantRecord;
  revoked: boolean;
  accessTokens: Array<{ jti: string; expiresAtMs: number }>;
}

export class MemoryGrantStore implements GrantStore {
  private readonly grants: ExpiringMap<GrantEntry>;

  constructor(
    maxEntries: number,
    private readonly clock: Clock,
  ) {
    this.grants = new ExpiringMap(maxEntries, clock);
  }

  async create(grant: GrantRecord, ttlMs: number): Promise<void> {
    if (this.grants.setIfAbsent(grant.id, { grant, revoked: false, accessTokens: [] }, ttlMs) === null) {
      throw new StoreUnavailableError('grant store is full');
    }
  }

  async find(id: string): Promise<GrantRecord | undefined> {
    const entry = this.grants.get(id);
    return entry && !entry.revoked ? entry.grant : undefined;
  }

  async addAccessToken(grantId: string, jti: string, expiresAtMs: number): Promise<boolean> {
    const entry = this.grants.get(grantId);
    if (!entry || entry.revoked) return false;
    const now = this.clock();
    // Keep the list short: forget tokens that have expired anyway.
    entry.accessTokens = entry.accessTokens.filter((token) => token.expiresAtMs > now);
    entry.accessTokens.push({ jti, expiresAtMs });
    return true;
  }

  async revoke(grantId: string): Promise<Array<{ jti: string; expiresAtMs: number }>> {
    const entry = this.grants.get(grantId);
    if (!entry) return [];
    entry.revoked = true;
    const now = this.clock();
    return entry.accessTokens.filter((token) => token.expiresAtMs > now);
  }
}
