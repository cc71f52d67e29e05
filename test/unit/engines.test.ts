import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/**
 * The Node version the project claims (package.json engines, the README) is one every installed
 * package supports: `npm ci --engine-strict` passes on it, and nobody is told a version that fails.
 */
const root = join(import.meta.dirname, '..', '..');
const ownRange = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;

function installedPackages(dir: string, found: Array<{ name: string; version: string; node: string }> = []) {
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (entry.startsWith('@')) {
      installedPackages(path, found);
      continue;
    }
    const manifest = join(path, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string; version: string; engines?: { node?: string } };
      if (pkg.engines?.node) found.push({ name: pkg.name, version: pkg.version, node: pkg.engines.node });
    }
    if (existsSync(join(path, 'node_modules'))) installedPackages(join(path, 'node_modules'), found);
  }
  return found;
}

describe('the supported Node version', () => {
  const minimum = semver.minVersion(ownRange)!;

  it('is supported by every installed package (npm ci --engine-strict on the minimum)', () => {
    const refusing = installedPackages(join(root, 'node_modules'))
      .filter((pkg) => !semver.satisfies(minimum, pkg.node))
      .map((pkg) => `${pkg.name}@${pkg.version} wants node ${pkg.node}`);
    expect(refusing).toEqual([]);
  });

  it('is the one the README names', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain(`Node.js ${minimum.major}.${minimum.minor} or later`);
  });

  it('is satisfied by the Node running the tests', () => {
    expect(semver.satisfies(process.version, ownRange)).toBe(true);
  });
});
