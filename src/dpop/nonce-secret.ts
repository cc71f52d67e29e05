import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The nonce MAC secret: the configured one (shared by every instance), or one generated on
 * first start and kept in the data directory.
 */
export function loadNonceSecret(options: { nonceSecret?: string | undefined; dataDir: string }): Buffer {
  if (options.nonceSecret) return Buffer.from(options.nonceSecret, 'utf8');
  const file = join(options.dataDir, 'nonce-secret');
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32);
  try {
    writeFileSync(file, secret.toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
  }
  return secret;
}
