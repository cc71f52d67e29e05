import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { checkConfig } from './cli/check-config.js';
import { loadConfig } from './config/load.js';
import { configWarnings } from './config/warnings.js';
import { startupFailureLine } from './startup-failure.js';

/** Process entry: load config, build the app, listen, and drain cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig();
  const app = await buildApp({ config });
  for (const warning of configWarnings(config, process.env)) app.log.warn(warning);
  stopOnSignals(app, config.http.shutdownDrainMs);
  // Key and nonce-secret rotation without a restart (docs/operations.md): re-reads the config
  // file and the key files; one that does not load keeps the keys in use and logs an error.
  process.on('SIGHUP', () => void app.reloadKeys(() => loadConfig()));
  await app.listen({ port: config.http.port, host: config.http.host });
  app.log.info({ issuer: config.issuer }, 'dpop-oidc is ready');
}

/**
 * Stops accepting, lets in-flight requests finish (later ones on open connections get 503,
 * see src/http/server-limits.ts), and exits 0; exits 1 if the drain outlasts `drainMs`.
 */
function stopOnSignals(app: FastifyInstance, drainMs: number): void {
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal, drainMs }, 'shutting down');
    const force = setTimeout(() => {
      app.log.warn({ drainMs }, 'drain time over: exiting with requests still open');
      process.exit(1);
    }, drainMs);
    force.unref();
    app.close().then(
      () => {
        app.log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        app.log.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (process.argv.includes('--check-config')) {
  // Validates and describes the config, then exits; nothing is built, opened or written.
  process.exitCode = checkConfig(
    process.env,
    (line) => process.stdout.write(`${line}\n`),
    (line) => process.stderr.write(`${line}\n`),
  );
} else {
  main().catch((error: unknown) => {
    process.stderr.write(`${startupFailureLine(error)}\n`);
    process.exit(1);
  });
}
