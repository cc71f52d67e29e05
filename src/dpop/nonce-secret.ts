import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../lib/atomic-file.js';
import type { NonceSecrets } from './nonce.js';

/** A shorter MAC key makes nonces guessable; an empty one lets a client compute valid nonces itself. */
export const nonceSecretMinBytes = 32;

export class NonceSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonceSecretError';
  }
}

export interface NonceSecretOptions {
  nonceSecret?: string | undefined;
  /** Accepted, never issued: the secret before the last rotation (or the next one, while it is being rolled out). */
  previousNonceSecret?: string | undefined;
  dataDir: string;
  /** Generate the file when there is none (a first start); a reload passes false. */
  create?: boolean;
}

/** The file in the data directory: the current secret on the first line, the previous one (optional) on the second. */
export function nonceSecretFile(dataDir: string): string {
  return join(dataDir, 'nonce-secret');
}

/** The current nonce MAC secret (see loadNonceSecrets). */
export function loadNonceSecret(options: NonceSecretOptions): Buffer {
  return loadNonceSecrets(options).current;
}

/**
 * The nonce MAC secrets: the configured ones (shared by every instance), or the ones kept in
 * the data directory, generated on first start. A secret under 32 bytes stops the start.
 */
export function loadNonceSecrets(options: NonceSecretOptions): NonceSecrets {
  if (options.nonceSecret !== undefined) {
    return {
      current: configuredSecret(options.nonceSecret, 'dpop.nonceSecret (config file or DPOP_NONCE_SECRET)'),
      previous:
        options.previousNonceSecret === undefined
          ? undefined
          : configuredSecret(options.previousNonceSecret, 'dpop.previousNonceSecret (config file or DPOP_PREVIOUS_NONCE_SECRET)'),
    };
  }
  if (options.previousNonceSecret !== undefined) {
    throw new NonceSecretError(
      'dpop.previousNonceSecret is set without dpop.nonceSecret: set both, or neither (the data directory then holds them)',
    );
  }
  const file = nonceSecretFile(options.dataDir);
  const existing = readSecretFile(file);
  if (existing) return existing;
  if (options.create === false) throw new NonceSecretError(`nonce secret file ${file} is missing`);
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(nonceSecretMinBytes);
  // Exclusive: when two instances start on one data directory, the first secret written wins.
  if (writeFileAtomicSync(file, secret.toString('base64url'), { mode: 0o600, exclusive: true }) === 'exists') {
    return readSecretFile(file)!;
  }
  return { current: secret };
}

/**
 * Replaces the current secret in the data directory by a new random one and keeps the current
 * one as previous (the one before is dropped), crash-safely. Returns the file.
 */
export function rotateNonceSecretFile(dataDir: string): string {
  const file = nonceSecretFile(dataDir);
  const existing = readSecretFile(file);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const next = randomBytes(nonceSecretMinBytes);
  const lines = [next, ...(existing ? [existing.current] : [])].map((secret) => secret.toString('base64url'));
  writeFileAtomicSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

function configuredSecret(value: string, setting: string): Buffer {
  const secret = Buffer.from(value, 'utf8');
  if (secret.length < nonceSecretMinBytes) {
    throw new NonceSecretError(
      `nonce secret from ${setting} is ${secret.length} bytes, under the ${nonceSecretMinBytes} required: set a longer one (openssl rand -base64 48)`,
    );
  }
  return secret;
}

/** The secrets kept in `file`, undefined when there is none; a damaged one stops the start. */
function readSecretFile(file: string): NonceSecrets | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const [current = '', previous, ...more] = text.split(/\r?\n/);
  if (more.length > 0)
    throw new NonceSecretError(
      `nonce secret file ${file} has ${more.length + 2} lines: the current secret, and at most one previous secret`,
    );
  return {
    current: decodeSecret(current, `nonce secret in ${file}`),
    previous: previous === undefined ? undefined : decodeSecret(previous.trim(), `previous nonce secret in ${file} (line 2)`),
  };
}

function decodeSecret(text: string, what: string): Buffer {
  // Buffer.from(..., 'base64url') skips what is not base64url: check, do not guess.
  const isBase64url = /^[A-Za-z0-9_-]*$/.test(text);
  const secret = isBase64url ? Buffer.from(text, 'base64url') : Buffer.alloc(0);
  if (secret.length < nonceSecretMinBytes) {
    const problem = isBase64url ? `is ${secret.length} bytes` : 'is not base64url';
    throw new NonceSecretError(
      `${what} ${problem}, under the ${nonceSecretMinBytes} required (left by an interrupted first start?): delete the file to generate a new one, or set dpop.nonceSecret / DPOP_NONCE_SECRET`,
    );
  }
  return secret;
}
