import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/lib/atomic-file.js';
import { loadSigningKeys } from '../../src/tokens/keys.js';

const newDir = () => mkdtempSync(join(tmpdir(), 'dpop-oidc-atomic-'));

/**
 * Runs an ES module snippet (through tsx) with files limited to 1 KiB: a longer write fails
 * with EFBIG part-way, as it would on a full disk.
 */
function runWithFileSizeLimit(script: string): { status: number | null; stderr: string } {
  const result = spawnSync('bash', ['-c', 'ulimit -f 1; exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stderr: result.stderr };
}

describe('writeFileAtomic', () => {
  it('writes the content with mode 0600 and leaves no temporary file', async () => {
    const dir = newDir();
    const file = join(dir, 'secret');
    expect(await writeFileAtomic(file, 'first')).toBe('written');
    expect(readFileSync(file, 'utf8')).toBe('first');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await writeFileAtomic(file, 'second', { mode: 0o640 })).toBe('written');
    expect(readFileSync(file, 'utf8')).toBe('second');
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(['secret']);
  });

  it('exclusive: keeps the file already there and answers exists (the first of two starting instances wins)', async () => {
    const dir = newDir();
    const file = join(dir, 'keys.json');
    const results = await Promise.all(['a', 'b', 'c'].map((content) => writeFileAtomic(file, content, { exclusive: true })));
    expect(results.filter((result) => result === 'written')).toHaveLength(1);
    expect(['a', 'b', 'c']).toContain(readFileSync(file, 'utf8'));
    expect(writeFileAtomicSync(file, 'd', { exclusive: true })).toBe('exists');
    expect(['a', 'b', 'c']).toContain(readFileSync(file, 'utf8'));
    expect(readdirSync(dir)).toEqual(['keys.json']);
  });

  it('the synchronous form writes and replaces the same way', () => {
    const dir = newDir();
    const file = join(dir, 'nonce-secret');
    expect(writeFileAtomicSync(file, 'one')).toBe('written');
    expect(writeFileAtomicSync(file, Buffer.from('two'))).toBe('written');
    expect(readFileSync(file, 'utf8')).toBe('two');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['nonce-secret']);
  });

  it('a write that fails part-way (full disk) leaves the old content whole and no temporary file', () => {
    const dir = newDir();
    const file = join(dir, 'revoked.json');
    writeFileSync(file, 'old content');
    const script = `import { writeFileAtomicSync } from ${JSON.stringify(join(process.cwd(), 'src/lib/atomic-file.ts'))};
      writeFileAtomicSync(${JSON.stringify(file)}, 'x'.repeat(100000));`;
    const { status, stderr } = runWithFileSizeLimit(script);
    expect(status).toBe(1);
    expect(stderr).toContain('EFBIG');
    expect(readFileSync(file, 'utf8')).toBe('old content');
    expect(readdirSync(dir)).toEqual(['revoked.json']);
  });
});

describe('generated signing keys are written crash-safely', () => {
  it('a first start that fails writing its key (full disk) leaves no truncated key file: the next start generates one', async () => {
    const dataDir = newDir();
    // An RS256 private JWK is about 3 KiB: more than the 1 KiB the child may write.
    const script = `import { loadSigningKeys } from ${JSON.stringify(join(process.cwd(), 'src/tokens/keys.ts'))};
      await loadSigningKeys({ dataDir: ${JSON.stringify(dataDir)}, algorithm: 'RS256' });`;
    const { status, stderr } = runWithFileSizeLimit(script);
    expect(status).toBe(1);
    expect(stderr).toContain('EFBIG');
    expect(existsSync(join(dataDir, 'signing-keys.json'))).toBe(false);
    expect(readdirSync(dataDir)).toEqual([]);

    const keys = await loadSigningKeys({ dataDir, algorithm: 'RS256' });
    expect(keys.current.alg).toBe('RS256');
    expect(statSync(join(dataDir, 'signing-keys.json')).mode & 0o777).toBe(0o600);
  });
});
