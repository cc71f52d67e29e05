import type { MaybePromise } from '../../lib/maybe-promise.js';
import { readFile } from 'node:fs/promises';
import { isObject } from '../../lib/syntax.js';
import { writeFileAtomic } from '../../lib/atomic-file.js';
import { type Clock } from '../../lib/clock.js';
import { StoreUnavailableError, type RevokedTokens } from '../ports.js';

/** Format of the file: `{ "version": 1, "revoked": { "<jti>": <exp in ms>, ... } }`. */
const fileVersion = 1;

/**
 * Access-token denylist by `jti`, each entry kept until the token's `exp`, bounded in entries.
 * With a file (the embedded default, in the data directory) the list survives a restart: a
 * revocation is answered only once it is on disk, so a token revoked before a crash stays
 * revoked after it. Without a file it lives in memory only.
 */
export class MemoryRevokedTokens implements RevokedTokens {
  /** jti -> expiry (ms), roughly in expiry order (access tokens share one lifetime). */
  private readonly revoked = new Map<string, number>();
  /** The write under way or last done; the next write starts after it. */
  private lastWrite: Promise<void> = Promise.resolve();
  /** A write not yet started: every change made meanwhile is in it, so its callers share it. */
  private queuedWrite: Promise<void> | undefined;
  private completedWrites = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly clock: Clock,
    private readonly options: { file?: string } = {},
  ) {}

  /** A denylist kept in `file`, loaded now (expired entries dropped); a damaged file stops the start. */
  static async open(file: string, maxEntries: number, clock: Clock): Promise<MemoryRevokedTokens> {
    const store = new MemoryRevokedTokens(maxEntries, clock, { file });
    await store.load(file);
    return store;
  }

  /** How many times the file has been written (coalesced: one write carries many revocations). */
  get writes(): number {
    return this.completedWrites;
  }

  async revoke(jti: string, expiresAtMs: number): Promise<void> {
    const now = this.clock();
    if (expiresAtMs <= now) return;
    if (!this.revoked.has(jti) && this.revoked.size >= this.maxEntries) {
      this.dropExpired(now);
      if (this.revoked.size >= this.maxEntries) throw new StoreUnavailableError('revocation list is full');
    }
    this.revoked.set(jti, expiresAtMs);
    if (this.options.file) await this.persist(this.options.file);
  }

  isRevoked(jti: string): MaybePromise<boolean> {
    const expiresAtMs = this.revoked.get(jti);
    if (expiresAtMs === undefined) return false;
    if (expiresAtMs > this.clock()) return true;
    this.revoked.delete(jti);
    return false;
  }

  /**
   * Resolves once a write that started after this call is on disk. Writes never overlap; while
   * one runs, every revocation joins the single queued one, so a burst costs two writes, not one each.
   */
  private persist(file: string): Promise<void> {
    if (!this.queuedWrite) {
      const write = this.lastWrite.then(() => {
        this.queuedWrite = undefined;
        return this.write(file);
      });
      this.queuedWrite = write;
      this.lastWrite = write.catch(() => {});
    }
    return this.queuedWrite;
  }

  private async write(file: string): Promise<void> {
    this.dropExpired(this.clock());
    const snapshot = JSON.stringify({ version: fileVersion, revoked: Object.fromEntries(this.revoked) });
    try {
      await writeFileAtomic(file, snapshot, { mode: 0o600 });
    } catch (error) {
      // The entry stays denied in this process; the caller is answered 503 and may retry.
      throw new StoreUnavailableError(`revocation list: cannot write ${file}: ${(error as Error).message}`);
    }
    this.completedWrites++;
  }

  private async load(file: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const entries = parseRevocationFile(text, file);
    const now = this.clock();
    for (const [jti, expiresAtMs] of entries) {
      if (expiresAtMs > now) this.revoked.set(jti, expiresAtMs);
    }
    if (this.revoked.size > this.maxEntries) {
      throw new Error(
        `${file}: holds ${this.revoked.size} live revocations, more than store.memoryMaxEntries (${this.maxEntries}): raise it`,
      );
    }
  }

  private dropExpired(now: number): void {
    for (const [jti, expiresAtMs] of this.revoked) {
      if (expiresAtMs <= now) this.revoked.delete(jti);
    }
  }
}

/** The entries of a revocation file; anything else stops the start, as an empty list would revive revoked tokens. */
function parseRevocationFile(text: string, file: string): Array<[string, number]> {
  const damaged = (what: string) =>
    new Error(
      `${file}: the revocation list is damaged (${what}): restore it, or delete it to start with an empty list (tokens revoked before then work again until they expire)`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw damaged(`not JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed) || parsed.version !== fileVersion || !isObject(parsed.revoked)) {
    throw damaged(`expected {"version":${fileVersion},"revoked":{...}}`);
  }
  const entries = Object.entries(parsed.revoked);
  for (const [jti, expiresAtMs] of entries) {
    if (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs))
      throw damaged(`entry ${JSON.stringify(jti)} has no numeric expiry`);
  }
  return entries as Array<[string, number]>;
}
