import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

/**
 * The README's "Limits and protections" table states each bound's default: it must be the
 * schema's. For every row whose default is a number, the first config key of the row is read
 * from the parsed default config and compared.
 */
const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
const section = readme.slice(
  readme.indexOf('## Limits and protections'),
  readme.indexOf('\n## ', readme.indexOf('## Limits and protections') + 3),
);

function valueAt(config: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], config);
}

describe('the README states the schema defaults of the bounds', () => {
  const defaults = parseConfig({});
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| bound') && !line.startsWith('| ---'))
    .map((line) => line.split(' | '))
    .map((cells) => ({ stated: cells[1] ?? '', key: /`([a-zA-Z]+\.[a-zA-Z.]+)`/.exec(cells[2] ?? '')?.[1] }))
    .filter((row): row is { stated: string; key: string } => row.key !== undefined && /^\d[\d ]*/.test(row.stated));

  it('has rows to check', () => {
    expect(rows.map((row) => row.key)).toContain('dpop.replayCacheMaxEntries');
  });

  for (const row of rows) {
    it(`${row.key}: ${row.stated}`, () => {
      const [, digits, unit] = /^(\d{1,3}(?: \d{3})*) ?(KiB|MiB|s\b)?/.exec(row.stated)!;
      // A key in milliseconds may be stated in seconds.
      const scale = unit === 'KiB' ? 1024 : unit === 'MiB' ? 1024 * 1024 : unit === 's' && row.key.endsWith('Ms') ? 1000 : 1;
      const stated = Number(digits!.replace(/ /g, '')) * scale;
      expect(valueAt(defaults, row.key)).toBe(stated);
    });
  }
});
