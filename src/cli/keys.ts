#!/usr/bin/env node
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { signingKeyAlgorithms } from '../config/schema.js';
import { NonceSecretError, rotateNonceSecretFile } from '../dpop/nonce-secret.js';
import { writeFileAtomic } from '../lib/atomic-file.js';
import { activateKey, addPublishedKey, KeySetError, retireKey, withExplicitStates } from '../tokens/key-states.js';
import { generateSigningJwk, readKeySetFile, signingKeyFile, signingKeysFromJwks } from '../tokens/keys.js';

/**
 * Manages the signing key file the server reads (keys.jwksFile, else DATA_DIR/signing-keys.json)
 * and the nonce secret in DATA_DIR, with the server's own config loader (CONFIG_FILE, DATA_DIR,
 * JWKS_FILE). Each command writes crash-safely and prints one line; the server takes the
 * change on SIGHUP. The procedure is in docs/operations.md.
 */
const usage = `usage: npm run -s keys -- <command>     (in the image: node dist/cli/keys.js <command>)
  list                      each key: kid, alg, state
  generate [--alg ES256]    add a new key, published (in the JWKS, not signing)
  rotate [KID]              make the newest published key (or KID) active; the previous one stays published
  retire KID                remove a published key (never the active one)
  rotate-nonce-secret       a new nonce secret in DATA_DIR; the previous one is still accepted until the next rotation
`;

type KeyDocument = { keys: Array<Record<string, unknown>>; [member: string]: unknown };

class UsageError extends Error {}

/**
 * A kid is base64url (a thumbprint may begin with "-"), so an argument that starts with a dash
 * but is none of our options is a kid, not an unknown option: it goes after "--".
 */
function kidsAsPositionals(argv: readonly string[]): string[] {
  const options: string[] = [];
  const positionals: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--') {
      positionals.push(...argv.slice(index + 1));
      break;
    }
    if (arg === '--alg') {
      options.push(arg, ...argv.slice(index + 1, index + 2));
      index++;
    } else if (arg.startsWith('--alg=') || arg === '--help' || arg === '-h') {
      options.push(arg);
    } else {
      positionals.push(arg);
    }
  }
  return [...options, '--', ...positionals];
}

async function main(argv: string[]): Promise<string[]> {
  let parsed;
  try {
    parsed = parseArgs({
      args: kidsAsPositionals(argv),
      allowPositionals: true,
      options: { alg: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { positionals, values } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) throw new UsageError();
  const config = loadConfig();
  const file = signingKeyFile({ jwksFile: config.keys.jwksFile, dataDir: config.dataDir });
  const takes = (count: number) => {
    if (rest.length > count) throw new UsageError(`${command}: unexpected ${rest.slice(count).join(' ')}`);
  };
  switch (command) {
    case 'list': {
      takes(0);
      const document = await readDocument(file, { mustExist: true });
      return withExplicitStates(document.keys, file).map((key) => `${String(key.kid)} ${String(key.alg)} ${key.state}`);
    }
    case 'generate': {
      takes(0);
      const alg = values.alg ?? config.keys.algorithm;
      if (!(signingKeyAlgorithms as readonly string[]).includes(alg))
        throw new UsageError(`generate: --alg must be one of ${signingKeyAlgorithms.join(', ')}`);
      const document = await readDocument(file, { mustExist: false });
      const jwk = (await generateSigningJwk(alg)) as Record<string, unknown>;
      const keys = addPublishedKey(document.keys, jwk, file);
      await writeDocument(file, { ...document, keys });
      const state = keys.at(-1)!.state;
      return [
        state === 'active'
          ? `generated ${alg} key ${String(jwk.kid)}, active (${file} had no keys)`
          : `generated ${alg} key ${String(jwk.kid)}, published: reload every server (SIGHUP), wait for JWKS caches, then rotate`,
      ];
    }
    case 'rotate': {
      takes(1);
      const document = await readDocument(file, { mustExist: true });
      const { keys, activated, previous } = activateKey(document.keys, rest[0], file);
      await writeDocument(file, { ...document, keys });
      return [
        `${activated} is active, ${previous} stays published: reload every server (SIGHUP); retire ${previous} once the tokens it signed have expired`,
      ];
    }
    case 'retire': {
      if (rest.length === 0) throw new UsageError('retire: name the kid to remove');
      takes(1);
      const kid = rest[0]!;
      const document = await readDocument(file, { mustExist: true });
      await writeDocument(file, { ...document, keys: retireKey(document.keys, kid, file) });
      return [`retired ${kid}: reload every server (SIGHUP); tokens it signed no longer verify`];
    }
    case 'rotate-nonce-secret': {
      takes(0);
      if (config.dpop.nonceSecret !== undefined) {
        throw new KeySetError(
          'the nonce secret comes from dpop.nonceSecret (config or DPOP_NONCE_SECRET): set dpop.previousNonceSecret to it and dpop.nonceSecret to a new one (docs/operations.md)',
        );
      }
      const secretFile = rotateNonceSecretFile(config.dataDir);
      return [
        `rotated the nonce secret in ${secretFile}; the previous one is accepted until the next rotation: reload every server (SIGHUP)`,
      ];
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

/** The key file as a JWK set whose keys all load (the server would refuse it otherwise). */
async function readDocument(file: string, options: { mustExist: boolean }): Promise<KeyDocument> {
  if (!existsSync(file)) {
    if (options.mustExist) throw new KeySetError(`no key file ${file}: start the server once, or run generate`);
    return { keys: [] };
  }
  const document = readKeySetFile(file);
  if (!Array.isArray(document.keys)) throw new KeySetError(`${file}: not a JWK set (no "keys" array)`);
  const keys = document.keys as Array<Record<string, unknown>>;
  if (keys.length === 0) return { ...document, keys };
  // A key without kid gets its thumbprint written in, the kid the server already uses for it.
  const kids = [...(await signingKeysFromJwks({ keys }, file)).byKid.keys()];
  return { ...document, keys: keys.map((key, index) => ({ ...key, kid: kids[index] })) };
}

/** Crash-safe, owner-only: the file holds private keys. */
async function writeDocument(file: string, document: KeyDocument): Promise<void> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600 });
}

try {
  for (const line of await main(process.argv.slice(2))) process.stdout.write(`${line}\n`);
} catch (error) {
  if (error instanceof UsageError) {
    if (error.message) process.stderr.write(`${error.message}\n`);
    process.stderr.write(usage);
    process.exit(2);
  }
  if (
    error instanceof KeySetError ||
    error instanceof ConfigError ||
    error instanceof NonceSecretError ||
    (error as NodeJS.ErrnoException).code !== undefined
  ) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
  throw error;
}
