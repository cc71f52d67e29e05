import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createStores } from '../../src/stores/create-stores.js';
import { MemoryRevokedTokens } from '../../src/stores/memory/revoked-tokens.js';
import { StoreUnavailableError } from '../../src/stores/ports.js';
import { testClock } from '../helpers/app.js';

const minute = 60_000;
const newFile = () => join(mkdtempSync(join(tmpdir(), 'dpop-oidc-revoked-')), 'revoked.json');
const onDisk = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { version: number; revoked: Record<string, number> };

describe('the in-memory revocation list kept in a file survives a restart', () => {
  it('a token revoked before a restart is still revoked after it, until its exp', async () => {
    const clock = testClock();
    const file = newFile();
    const before = await MemoryRevokedTokens.open(file, 1000, clock);
    await before.revoke('jti-1', clock() + 10 * minute);

    const after = await MemoryRevokedTokens.open(file, 1000, clock);
    expect(await after.isRevoked('jti-1')).toBe(true);
    expect(await after.isRevoked('jti-2')).toBe(false);
    clock.advance(10 * minute);
    expect(await after.isRevoked('jti-1')).toBe(false);
  });

  it('revoke() resolves only once the entry is in the file (a 200 survives a crash right after)', async () => {
    const clock = testClock();
    const file = newFile();
    const store = await MemoryRevokedTokens.open(file, 1000, clock);
    await store.revoke('jti-durable', clock() + minute);
    expect(onDisk(file)).toEqual({ version: 1, revoked: { 'jti-durable': clock() + minute } });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(file, '..'))).toEqual(['revoked.json']);
  });

  it('drops expired entries at load and on the next write', async () => {
    const clock = testClock();
    const file = newFile();
    const store = await MemoryRevokedTokens.open(file, 1000, clock);
    await store.revoke('short', clock() + minute);
    await store.revoke('long', clock() + 10 * minute);
    clock.advance(2 * minute);
    const reloaded = await MemoryRevokedTokens.open(file, 1000, clock);
    expect(await reloaded.isRevoked('short')).toBe(false);
    expect(await reloaded.isRevoked('long')).toBe(true);
    await reloaded.revoke('another', clock() + minute);
    expect(Object.keys(onDisk(file).revoked).sort()).toEqual(['another', 'long']);
  });

  it('a burst of concurrent revocations shares writes instead of writing once per call', async () => {
    const clock = testClock();
    const file = newFile();
    const store = await MemoryRevokedTokens.open(file, 10_000, clock);
    const jtis = Array.from({ length: 500 }, (_, index) => `burst-${index}`);
    await Promise.all(jtis.map((jti) => store.revoke(jti, clock() + minute)));
    expect(store.writes).toBeLessThanOrEqual(2);
    expect(Object.keys(onDisk(file).revoked)).toHaveLength(500);

    // Revocations arriving while a write runs join one queued write.
    const first = store.revoke('during-1', clock() + minute);
    await Promise.resolve();
    const rest = Array.from({ length: 100 }, (_, index) => store.revoke(`during-${index + 2}`, clock() + minute));
    const writesBefore = store.writes;
    await Promise.all([first, ...rest]);
    expect(store.writes - writesBefore).toBeLessThanOrEqual(2);
    expect(Object.keys(onDisk(file).revoked)).toHaveLength(601);
  });

  it('stays bounded: full of live entries, revoke throws StoreUnavailableError (answered 503)', async () => {
    const clock = testClock();
    const store = await MemoryRevokedTokens.open(newFile(), 100, clock);
    await Promise.all(Array.from({ length: 100 }, (_, index) => store.revoke(`full-${index}`, clock() + minute)));
    await expect(store.revoke('one-more', clock() + minute)).rejects.toThrow(new StoreUnavailableError('revocation list is full'));
    clock.advance(minute);
    await store.revoke('one-more', clock() + minute);
    expect(await store.isRevoked('one-more')).toBe(true);
  });

  it('a write that fails is StoreUnavailableError; the token stays denied in this process', async () => {
    const clock = testClock();
    const file = join(newFile(), '..', 'missing-dir', 'revoked.json');
    const store = new MemoryRevokedTokens(100, clock, { file });
    await expect(store.revoke('jti', clock() + minute)).rejects.toThrow(StoreUnavailableError);
    await expect(store.revoke('jti', clock() + minute)).rejects.toThrow(
      /revocation list: cannot write .*missing-dir\/revoked\.json: ENOENT/,
    );
    expect(await store.isRevoked('jti')).toBe(true);
  });

  it('without a file (tests), it lives in memory only', async () => {
    const clock = testClock();
    const store = new MemoryRevokedTokens(100, clock);
    await store.revoke('jti', clock() + minute);
    expect(await store.isRevoked('jti')).toBe(true);
    expect(store.writes).toBe(0);
  });
});

describe('a damaged revocation file stops the start instead of reviving revoked tokens', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['empty (an interrupted write)', '', /not JSON/],
    ['truncated', '{"version":1,"revoked":{"a":17', /not JSON/],
    ['another shape', '["a","b"]', /expected \{"version":1,"revoked":\{\.\.\.\}\}/],
    ['another version', '{"version":2,"revoked":{}}', /expected \{"version":1/],
    ['an entry without a numeric expiry', '{"version":1,"revoked":{"a":"soon"}}', /entry "a" has no numeric expiry/],
  ];
  for (const [what, content, detail] of cases) {
    it(`refuses a file that is ${what}`, async () => {
      const file = newFile();
      writeFileSync(file, content);
      const opening = MemoryRevokedTokens.open(file, 1000, testClock());
      await expect(opening).rejects.toThrow(detail);
      await expect(MemoryRevokedTokens.open(file, 1000, testClock())).rejects.toThrow(`${file}: the revocation list is damaged (`);
      await expect(MemoryRevokedTokens.open(file, 1000, testClock())).rejects.toThrow(
        /restore it, or delete it to start with an empty list \(tokens revoked before then work again until they expire\)$/,
      );
    });
  }

  it('refuses a file with more live entries than store.memoryMaxEntries', async () => {
    const clock = testClock();
    const file = newFile();
    const revoked = Object.fromEntries(Array.from({ length: 150 }, (_, index) => [`jti-${index}`, clock() + minute]));
    writeFileSync(file, JSON.stringify({ version: 1, revoked }));
    await expect(MemoryRevokedTokens.open(file, 100, clock)).rejects.toThrow(
      `${file}: holds 150 live revocations, more than store.memoryMaxEntries (100): raise it`,
    );
  });
});

describe('createStores keeps the memory revocation list in the data directory', () => {
  it('writes DATA_DIR/revoked.json and reads it back on the next start', async () => {
    const clock = testClock();
    const dataDir = join(mkdtempSync(join(tmpdir(), 'dpop-oidc-stores-')), 'data');
    const config = parseConfig({}).store;
    const first = await createStores(config, { replayCacheMaxEntries: 1000 }, clock, { dataDir });
    await first.revoked.revoke('jti-across-restart', clock() + minute);
    await first.close();
    expect(Object.keys(onDisk(join(dataDir, 'revoked.json')).revoked)).toEqual(['jti-across-restart']);

    const second = await createStores(config, { replayCacheMaxEntries: 1000 }, clock, { dataDir });
    expect(await second.revoked.isRevoked('jti-across-restart')).toBe(true);
    await second.close();
  });
});
