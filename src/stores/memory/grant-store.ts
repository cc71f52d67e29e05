import { type Clock } from '../../lib/clock.js';
import { StoreUnavailableError, type GrantAccessToken, type GrantRecord, type GrantStore, type RevokedTokens } from '../ports.js';
import { ExpiringMap } from './expiring-map.js';

interface GrantEntry {
  grant: GrantRecord;
  revoked: boolean;
  accessTokens: GrantAccessToken[];
}

export class MemoryGrantStore implements GrantStore {
  private readonly grants: ExpiringMap<GrantEntry>;

  constructor(
    maxEntries: number,
    private readonly clock: Clock,
    /** The denylist that revoking a grant (or evicting one of its tokens) writes to. */
    private readonly revokedTokens: RevokedTokens,
  ) {
    this.grants = new ExpiringMap(maxEntries, clock);
  }

  async create(grant: GrantRecord, ttlMs: number): Promise<void> {
    const entry = { grant: { ...grant, scopes: [...grant.scopes] }, revoked: false, accessTokens: [] };
    if (this.grants.setIfAbsent(grant.id, entry, ttlMs) === null) {
      throw new StoreUnavailableError('grant store is full');
    }
  }

  async find(id: string): Promise<GrantRecord | undefined> {
    const entry = this.grants.get(id);
    return entry && !entry.revoked ? { ...entry.grant, scopes: [...entry.grant.scopes] } : undefined;
  }

  async addAccessToken(grantId: string, token: GrantAccessToken, maxLive: number): Promise<boolean> {
    const entry = this.grants.get(grantId);
    if (!entry || entry.revoked) return false;
    const now = this.clock();
    // Keep the list short: forget tokens that have expired anyway, deny the oldest beyond the
    // bound. Denied before they leave the list: a failure (denylist full) leaves them on it.
    const live = entry.accessTokens.filter((existing) => existing.expiresAtMs > now).sort((a, b) => a.expiresAtMs - b.expiresAtMs);
    const evicted = live.slice(0, Math.max(0, live.length + 1 - maxLive));
    for (const old of evicted) await this.revokedTokens.revoke(old.jti, old.expiresAtMs);
    if (entry.revoked) return false;
    const gone = new Set(evicted.map((old) => old.jti));
    entry.accessTokens = entry.accessTokens.filter((existing) => existing.expiresAtMs > now && !gone.has(existing.jti));
    entry.accessTokens.push({ ...token });
    return true;
  }

  async revoke(grantId: string): Promise<void> {
    const entry = this.grants.get(grantId);
    if (!entry) return;
    // Marked first, in the same tick as the snapshot: a token recorded from now on is refused.
    entry.revoked = true;
    const now = this.clock();
    const live = entry.accessTokens.filter((token) => token.expiresAtMs > now);
    // A failure (denylist full) propagates; the grant stays revoked and a retry denies them again.
    for (const token of live) await this.revokedTokens.revoke(token.jti, token.expiresAtMs);
  }
}
