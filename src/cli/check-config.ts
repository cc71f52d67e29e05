import { join } from 'node:path';
import { ConfigError, configFileOf, environmentOverrides, loadConfig } from '../config/load.js';
import type { ClientConfig, Config } from '../config/schema.js';
import { configWarnings } from '../config/warnings.js';
import { endpointUrls } from '../oauth/metadata.js';

/**
 * `npm run -s check-config` (in the image: `node dist/main.js --check-config`): loads the config
 * as the server does (CONFIG_FILE, then the environment), prints what it would serve and its
 * warnings, and answers 0; or prints each problem on its own line, path or variable named,
 * and answers 1. It reads no key file and writes nothing.
 */
export function checkConfig(env: NodeJS.ProcessEnv, out: (line: string) => void, err: (line: string) => void): number {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err(error.message);
    return 1;
  }
  for (const line of configSummary(config, env)) out(line);
  const warnings = configWarnings(config, env);
  out(warnings.length ? `warnings (${warnings.length}):` : 'warnings: none');
  for (const warning of warnings) out(`  - ${warning}`);
  return 0;
}

/** What the server would serve with `config`: where, with which state, keys, clients and users. */
export function configSummary(config: Config, env: NodeJS.ProcessEnv): string[] {
  const fromEnvironment = environmentOverrides.filter(({ name }) => env[name]).map(({ name }) => name);
  const urls = endpointUrls(config.issuer);
  return [
    `config: ${configFileOf(env)}${fromEnvironment.length ? `, with ${fromEnvironment.join(', ')} from the environment` : ''}`,
    `issuer: ${config.issuer}`,
    `listens on: ${config.http.host}:${config.http.port} (trustProxy: ${String(config.http.trustProxy)})`,
    'endpoints:',
    ...Object.entries(urls).map(([name, url]) => `  ${name}: ${url}`),
    `store: ${describeStore(config.store)}`,
    `signing keys: ${describeKeys(config)}`,
    `dpop: algs ${config.dpop.algs.join(' ')}; nonce ${config.dpop.requireNonce ? 'required of every client' : 'required of the clients that ask for it'}; nonce secret ${config.dpop.nonceSecret ? 'configured' : `kept in ${join(config.dataDir, 'nonce-secret')}`}`,
    `clients (${config.clients.length}):`,
    ...config.clients.map((client) => `  - ${describeClient(client)}`),
    `users: ${config.users.length}`,
  ];
}

function describeStore(store: Config['store']): string {
  if (store.type === 'memory') return `memory (one process; at most ${store.memoryMaxEntries} entries per store)`;
  return `redis at ${withoutPassword(store.redisUrl)}, keys prefixed ${store.keyPrefix}${store.allowEvictingRedis ? ', evicting policy allowed' : ''}`;
}

/** The Redis URL without its password, which must not reach a terminal or a CI log. */
function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.href;
}

function describeKeys(config: Config): string {
  if (config.keys.jwksFile) return `from ${config.keys.jwksFile} (keys.jwksFile)`;
  return `kept in ${join(config.dataDir, 'signing-keys.json')}, generated there on first start (${config.keys.algorithm})`;
}

function describeClient(client: ClientConfig): string {
  const dpop = client.dpop_bound_access_tokens ? 'DPoP required' : 'DPoP optional';
  return [
    client.client_id,
    client.token_endpoint_auth_method,
    `grants ${client.grant_types.join(' ') || '(none)'}`,
    client.dpop_require_nonce ? `${dpop}, nonce required` : dpop,
    ...(client.introspection_allowed ? ['may introspect'] : []),
    ...(client.first_party ? ['first party'] : []),
  ].join('; ');
}
