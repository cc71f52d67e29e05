import { hash, randomBytes, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto';
import { constantTimeEqual } from '../lib/constant-time.js';

/**
 * Stored hashes of passwords and client secrets; the clear value is never stored.
 *   scrypt$<N>$<r>$<p>$<salt>$<hash>  memory-hard, for passwords people choose
 *   sha256$<salt>$<hash>              for long random client secrets (32+ characters), where a
 *                                     slow hash would only slow the token endpoint down
 * Salts and hashes are base64url. Comparison is constant-time.
 */

function scrypt(secret: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(secret, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

const scryptDefaults = { N: 16384, r: 8, p: 1 };

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p } = scryptDefaults;
  const hash = await scrypt(password, salt, 32, { N, r, p, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export function hashClientSecret(secret: string): string {
  const salt = randomBytes(16);
  return `sha256$${salt.toString('base64url')}$${sha256(salt, secret).toString('base64url')}`;
}

function sha256(salt: Buffer, secret: string): Buffer {
  return hash('sha256', Buffer.concat([salt, Buffer.from(secret, 'utf8')]), 'buffer');
}

/**
 * Decoded sha256 hashes, by their encoded form: those come from the config (clients, the decoy),
 * so there are few, and decoding one on every token request would be work for nothing. Bounded
 * all the same; past the bound a hash is decoded each time.
 */
const decodedSha256 = new Map<string, { salt: Buffer; expected: Buffer }>();
const maxDecodedSha256 = 1024;

function decodeSha256(encoded: string, parts: readonly string[]): { salt: Buffer; expected: Buffer } {
  let decoded = decodedSha256.get(encoded);
  if (!decoded) {
    decoded = { salt: Buffer.from(parts[1]!, 'base64url'), expected: Buffer.from(parts[2]!, 'base64url') };
    if (decodedSha256.size < maxDecodedSha256) decodedSha256.set(encoded, decoded);
  }
  return decoded;
}

/**
 * True when `secret` matches `encoded`; false for a wrong secret or an unreadable hash. A sha256
 * hash is checked at once, a scrypt hash on the thread pool (a promise).
 */
export function verifySecret(secret: string, encoded: string): boolean | Promise<boolean> {
  const parts = encoded.split('$', 7);
  if (parts[0] === 'sha256' && parts.length === 3) {
    const { salt, expected } = decodeSha256(encoded, parts);
    return constantTimeEqual(expected, sha256(salt, secret));
  }
  if (parts[0] === 'scrypt' && parts.length === 6) {
    const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
    if (![N, r, p].every(Number.isSafeInteger) || N > 2 ** 20 || r > 32 || p > 16) return false;
    const expected = Buffer.from(parts[5]!, 'base64url');
    if (expected.length < 16 || expected.length > 64) return false;
    return scrypt(secret, Buffer.from(parts[4]!, 'base64url'), expected.length, {
      N,
      r,
      p,
      maxmem: 256 * N * r + 1024 * 1024,
    }).then((actual) => constantTimeEqual(expected, actual));
  }
  return false;
}

/** A hash worth burning when the client or user is unknown, so timing does not tell. */
export const decoySecretHash = `sha256$${randomBytes(16).toString('base64url')}$${randomBytes(32).toString('base64url')}`;
