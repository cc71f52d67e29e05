import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/load.js';

/** Process entry: load config, build the app, listen, and stop cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = await buildApp({ config });
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Key and nonce-secret rotation without a restart (docs/operations.md): re-reads the config
  // file and the key files; one that does not load keeps the keys in use and logs an error.
  process.on('SIGHUP', () => void app.reloadKeys(() => loadConfig()));
  await app.listen({ port: config.http.port, host: config.http.host });
  app.log.info({ issuer: config.issuer }, 'dpop-oidc is ready');
}

main().catch((error: unknown) => {
  process.stderr.write(`dpop-oidc failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
