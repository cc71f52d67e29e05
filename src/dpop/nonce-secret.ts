import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../lib/atomic-file.js';

/** A shorter MAC key makes nonces guessable; an empty one lets a client compute valid nonces itself. */
export const nonceSecretMinBytes = 32;

export class NonceSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonceSecretError';
  }
}

/**
 * The nonce MAC secret: the configured one (shared by every instance), or one generated on
 * first start and kept in the data directory. A secret under 32 bytes stops the start.
 */
export function loadNonceSecret(options: { nonceSecret?: string | undefined; dataDir: string }): Buffer {
  if (options.nonceSecret !== undefined) {
    const secret = Buffer.from(options.nonceSecret, 'utf8');
    if (secret.length < nonceSecretMinBytes) {
      throw new NonceSecretError(
        `nonce secret from dpop.nonceSecret (config file or DPOP_NONCE_SECRET) is ${secret.length} bytes, under the ${nonceSecretMinBytes} required: set a longer one (openssl rand -base64 48)`,
      );
    }
    return secret;
  }
  const file = join(options.dataDir, 'nonce-secret');
  const existing = readSecretFile(file);
  if (existing) return existing;
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(nonceSecretMinBytes);
  // Exclusive: when two instances start on one data directory, the first secret written wins.
  if (writeFileAtomicSync(file, secret.toString('base64url'), { mode: 0o600, exclusive: true }) === 'exists') {
    return readSecretFile(file)!;
  }
  return secret;
}

/** The secret kept in `file`, undefined when there is none; a damaged one stops the start. */
function readSecretFile(file: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  // Buffer.from(..., 'base64url') skips what is not base64url: check, do not guess.
  const isBase64url = /^[A-Za-z0-9_-]*$/.test(text);
  const secret = isBase64url ? Buffer.from(text, 'base64url') : Buffer.alloc(0);
  if (secret.length < nonceSecretMinBytes) {
    const what = isBase64url ? `is ${secret.length} bytes` : 'is not base64url';
    throw new NonceSecretError(
      `nonce secret in ${file} ${what}, under the ${nonceSecretMinBytes} required (left by an interrupted first start?): delete the file to generate a new one, or set dpop.nonceSecret / DPOP_NONCE_SECRET`,
    );
  }
  return secret;
}
