import type { SessionRecord, SessionStore } from '../ports.js';
import { guarded } from './client.js';
import type { RedisClient } from './scripts.js';

/** Sessions as JSON under `{session:<id>}` (one hash slot per session, for Redis Cluster). */
export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return `${this.prefix}{session:${id}}`;
  }

  async create(session: SessionRecord, ttlMs: number): Promise<void> {
    const record: SessionRecord = { id: session.id, sub: session.sub, authTime: session.authTime };
    const created = await guarded('session store', () =>
      this.redis.set(this.key(session.id), JSON.stringify(record), 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'),
    );
    // Ids are 256-bit random values hashed: a live one taken means a caller bug, never chance.
    if (created === null) throw new Error('a session with this id exists');
  }

  async find(id: string): Promise<SessionRecord | undefined> {
    const value = await guarded('session store', () => this.redis.get(this.key(id)));
    return value === null ? undefined : (JSON.parse(value) as SessionRecord);
  }

  async end(id: string): Promise<void> {
    await guarded('session store', () => this.redis.del(this.key(id)));
  }
}
