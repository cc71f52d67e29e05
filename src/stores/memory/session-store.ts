import { type Clock } from '../../lib/clock.js';
import { StoreUnavailableError, type SessionRecord, type SessionStore } from '../ports.js';
import { ExpiringMap } from './expiring-map.js';

/** Sessions in one process, bounded; a record goes in and comes out as a copy, as with Redis. */
export class MemorySessionStore implements SessionStore {
  private readonly map: ExpiringMap<SessionRecord>;

  constructor(maxEntries: number, clock: Clock) {
    this.map = new ExpiringMap(maxEntries, clock);
  }

  async create(session: SessionRecord, ttlMs: number): Promise<void> {
    const created = this.map.setIfAbsent(session.id, { ...session }, ttlMs);
    if (created === null) throw new StoreUnavailableError('session store is full');
    // Ids are 256-bit random values hashed: a live one taken means a caller bug, never chance.
    if (!created) throw new Error('a session with this id exists');
  }

  async find(id: string): Promise<SessionRecord | undefined> {
    const session = this.map.get(id);
    return session && { ...session };
  }

  async end(id: string): Promise<void> {
    this.map.delete(id);
  }
}
