import { createInterface } from 'node:readline';
import { hashClientSecret, hashPassword } from './secret-hash.js';

/**
 * Prints a hash for the config file.
 *   npm run hash-secret -- password   (a user's password: scrypt)
 *   npm run hash-secret -- client     (a client secret of 32+ random characters: salted SHA-256)
 * The value is read from standard input so it does not land in the shell history.
 */
const kind = process.argv[2];
if (kind !== 'password' && kind !== 'client') {
  process.stderr.write('usage: npm run hash-secret -- password|client   (value on standard input)\n');
  process.exit(2);
}
const lines = createInterface({ input: process.stdin });
const value = await new Promise<string>((resolve) => {
  lines.once('line', (line) => resolve(line));
  lines.once('close', () => resolve(''));
});
lines.close();
if (!value) {
  process.stderr.write('no value on standard input\n');
  process.exit(2);
}
if (kind === 'client' && value.length < 32) {
  process.stderr.write('a client secret must be at least 32 characters; use a random one (openssl rand -base64 32)\n');
  process.exit(2);
}
process.stdout.write(`${kind === 'password' ? await hashPassword(value) : hashClientSecret(value)}\n`);
