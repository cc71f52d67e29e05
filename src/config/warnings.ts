import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isObject } from '../lib/syntax.js';
import type { Config } from './schema.js';
import { isLoopbackHost } from './schema/uris.js';

/** The secret and password hashes of the shipped demo config, whose secrets the README prints. */
export interface DemoCredentials {
  clients: ReadonlyArray<{ client_id: string; client_secret_hash: string }>;
  users: ReadonlyArray<{ username: string; password_hash: string }>;
}

/** config/default.json beside the code: the repository's, or the image's /app/config. */
export const demoConfigFile = fileURLToPath(new URL('../../config/default.json', import.meta.url));

/** The demo credentials of `file`; none when it cannot be read (an image without it has no demo to reuse). */
export function readDemoCredentials(file = demoConfigFile): DemoCredentials {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return { clients: [], users: [] };
  }
  const entries = (key: string) => (isObject(raw) && Array.isArray(raw[key]) ? (raw[key] as unknown[]).filter(isObject) : []);
  return {
    clients: entries('clients').flatMap((client) =>
      typeof client.client_secret_hash === 'string'
        ? [{ client_id: String(client.client_id), client_secret_hash: client.client_secret_hash }]
        : [],
    ),
    users: entries('users').flatMap((user) =>
      typeof user.password_hash === 'string' ? [{ username: String(user.username), password_hash: user.password_hash }] : [],
    ),
  };
}

/** `config/default.json`, and the demo entry's name when the config calls it something else. */
function demoEntry(kind: string, demoName: string, name: string): string {
  return demoName === name ? 'config/default.json' : `config/default.json (${kind} ${demoName})`;
}

/**
 * What a valid config is probably wrong about, one line each, for the log at start-up and for
 * check-config. None for the demo as shipped (plain http on localhost).
 */
export function configWarnings(config: Config, env: NodeJS.ProcessEnv = {}, demo: DemoCredentials = readDemoCredentials()): string[] {
  const issuer = new URL(config.issuer);
  const exposed = !isLoopbackHost(issuer.hostname);
  const warnings: string[] = [];
  if (exposed && issuer.protocol === 'http:') {
    warnings.push(
      `issuer ${config.issuer} is plain http on a host other than loopback: codes, tokens and passwords cross the network in clear; use https (a TLS-terminating proxy in front)`,
    );
  }
  if (exposed) {
    for (const client of config.clients) {
      const demoClient = demo.clients.find(({ client_secret_hash }) => client_secret_hash === client.client_secret_hash);
      if (demoClient) {
        warnings.push(
          `client ${client.client_id} has the demo secret of ${demoEntry('client', demoClient.client_id, client.client_id)}, which anyone can read, with the issuer ${config.issuer}: give it a secret of its own (npm run hash-secret)`,
        );
      }
    }
    for (const user of config.users) {
      const demoUser = demo.users.find(({ password_hash }) => password_hash === user.password_hash);
      if (demoUser) {
        warnings.push(
          `user ${user.username} has the demo password of ${demoEntry('user', demoUser.username, user.username)}, which anyone can read, with the issuer ${config.issuer}: set a password of its own (npm run hash-secret -- password)`,
        );
      }
    }
  }
  const issuerPort = Number(issuer.port || (issuer.protocol === 'https:' ? 443 : 80));
  if (config.http.trustProxy === false && config.http.port !== 0 && config.http.port !== issuerPort) {
    const listening = env.PORT ? `PORT=${env.PORT}` : `http.port ${config.http.port}`;
    warnings.push(
      `${listening} differs from the port of the issuer ${config.issuer} (${issuerPort}) and no proxy is configured (http.trustProxy false): endpoint URLs and every expected DPoP htu name port ${issuerPort}, so a proof for port ${config.http.port} fails; set ISSUER to the URL clients use, or http.trustProxy to the proxy that forwards to this port`,
    );
  }
  return warnings;
}
