import { type Clock } from '../../lib/clock.js';
import {
  StoreUnavailableError,
  type RefreshTokenFamily,
  type RefreshTokenStore,
  type RefreshTokenSuccessor,
  type RotateResult,
} from '../ports.js';
import { ExpiringMap } from './expiring-map.js';

/** One record per grant (its refresh token family), kept until the current token expires. */
export class MemoryRefreshTokenStore implements RefreshTokenStore {
  private readonly families: ExpiringMap<RefreshTokenFamily>;

  constructor(
    maxEntries: number,
    private readonly clock: Clock,
  ) {
    this.families = new ExpiringMap(maxEntries, clock);
  }

  async create(familyId: string, family: RefreshTokenFamily): Promise<RefreshTokenFamily> {
    const created = this.families.setIfAbsent(familyId, copy(family), family.expiresAtMs - this.clock());
    if (created === null) throw new StoreUnavailableError('refresh token store is full');
    return copy(created ? family : this.families.get(familyId)!);
  }

  async find(familyId: string): Promise<RefreshTokenFamily | undefined> {
    const family = this.families.get(familyId);
    return family && copy(family);
  }

  async rotate(familyId: string, presentedHash: string, next: RefreshTokenSuccessor): Promise<RotateResult> {
    const family = this.families.get(familyId);
    if (!family) return { outcome: 'missing' };
    if (presentedHash !== family.currentHash) {
      return { outcome: presentedHash === family.previousHash ? 'previous' : 'stale', family: copy(family) };
    }
    const rotated: RefreshTokenFamily = {
      ...family,
      jkt: next.jkt,
      expiresAtMs: next.expiresAtMs,
      generation: family.generation + 1,
      currentHash: next.hash,
      previousHash: family.currentHash,
      issuedAtMs: next.issuedAtMs,
      sealedCurrent: next.sealed,
    };
    // No await between the check and the write: concurrent rotations see each other. Replacing
    // an existing key never needs room, so a full store cannot leave the rotation half done.
    if (!this.families.set(familyId, rotated, next.expiresAtMs - this.clock()))
      throw new StoreUnavailableError('refresh token store is full');
    return { outcome: 'rotated', family: copy(rotated) };
  }
}

/** Records go in and out as copies: a caller changing its object does not change the store. */
function copy(family: RefreshTokenFamily): RefreshTokenFamily {
  return { ...family, scopes: [...family.scopes] };
}
