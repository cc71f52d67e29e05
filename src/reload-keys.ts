import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config/schema.js';
import { loadNonceSecrets } from './dpop/nonce-secret.js';
import type { DpopNonces } from './dpop/nonce.js';
import { loadSigningKeys, type KeyRing, type SigningKeys } from './tokens/keys.js';

/**
 * Re-reads the signing keys and the nonce secrets (on SIGHUP, src/main.ts), from the config
 * `readConfig()` returns (the process re-reads its config file, so dpop.nonceSecret can
 * rotate too) or the one the app was built with. Both load before either is used: a file that
 * does not load keeps everything as it was and logs one error line; nothing throws. Reloads
 * run one after the other, in the order they were asked for. Answers whether it took effect.
 */
export type ReloadKeys = (readConfig?: () => Config) => Promise<boolean>;

export function keyReloader(deps: {
  config: Config;
  /** The key set to replace; absent when the app was given fixed keys. */
  ring: KeyRing | undefined;
  /** The nonces whose secrets to replace; absent when the app was given a fixed secret. */
  nonces: DpopNonces | undefined;
  log: FastifyBaseLogger;
}): ReloadKeys {
  let previousReload: Promise<boolean> = Promise.resolve(true);
  const reload = async (readConfig: (() => Config) | undefined): Promise<boolean> => {
    try {
      const config = readConfig ? readConfig() : deps.config;
      const keys = deps.ring
        ? await loadSigningKeys({
            jwksFile: config.keys.jwksFile,
            dataDir: config.dataDir,
            algorithm: config.keys.algorithm,
            create: false,
          })
        : undefined;
      const secrets = deps.nonces
        ? loadNonceSecrets({
            nonceSecret: config.dpop.nonceSecret,
            previousNonceSecret: config.dpop.previousNonceSecret,
            dataDir: config.dataDir,
            create: false,
          })
        : undefined;
      const before = deps.ring?.snapshot;
      if (keys) deps.ring!.replace(keys);
      if (secrets) deps.nonces!.useSecrets(secrets);
      const warnings = keys && before ? rotationWarnings(before, keys) : [];
      deps.log[warnings.length ? 'warn' : 'info'](
        {
          ...(keys ? { activeKid: keys.current.kid, publishedKids: [...keys.byKid.keys()].filter((kid) => kid !== keys.current.kid) } : {}),
          ...(secrets ? { nonceSecrets: secrets.previous ? 2 : 1 } : {}),
          ...(warnings.length ? { warnings } : {}),
        },
        'reloaded the signing keys and nonce secrets',
      );
      return true;
    } catch (error) {
      deps.log.error({ reason: (error as Error).message }, 'reload refused: the signing keys and nonce secrets in use are kept');
      return false;
    }
  };
  return (readConfig) => (previousReload = previousReload.then(() => reload(readConfig)));
}

/** What a reload did that breaks tokens or caches: the procedure (docs/operations.md) avoids both. */
function rotationWarnings(before: SigningKeys, after: SigningKeys): string[] {
  const warnings: string[] = [];
  if (!before.byKid.has(after.current.kid)) {
    warnings.push(
      `the active key ${after.current.kid} was not published before: whoever cached the JWKS refuses its tokens until they fetch it again (generate, reload, wait, then rotate)`,
    );
  }
  if (!after.byKid.has(before.current.kid)) {
    warnings.push(`the key that signed until now (${before.current.kid}) is gone: the tokens it signed no longer verify`);
  }
  return warnings;
}
