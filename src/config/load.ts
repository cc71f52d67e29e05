import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { isObject } from '../lib/syntax.js';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type RawObject = Record<string, unknown>;

/** Names the config file to read. */
const configFileVariable = 'CONFIG_FILE';

/** Environment variables that override the file, for what operators change most. */
const environmentOverrides: Array<{ name: string; path: string[]; convert?: (value: string) => unknown }> = [
  { name: 'PORT', path: ['http', 'port'] },
  { name: 'HOST', path: ['http', 'host'] },
  { name: 'ISSUER', path: ['issuer'] },
  { name: 'LOG_LEVEL', path: ['logLevel'] },
  { name: 'DATA_DIR', path: ['dataDir'] },
  { name: 'JWKS_FILE', path: ['keys', 'jwksFile'] },
  { name: 'DPOP_NONCE_SECRET', path: ['dpop', 'nonceSecret'] },
  { name: 'DPOP_PREVIOUS_NONCE_SECRET', path: ['dpop', 'previousNonceSecret'] },
  { name: 'TRUST_PROXY', path: ['http', 'trustProxy'], convert: (value) => (value === 'true' ? true : value === 'false' ? false : value) },
  { name: 'STORE', path: ['store', 'type'] },
  { name: 'REDIS_URL', path: ['store', 'redisUrl'] },
  { name: 'REDIS_CLUSTER_NODES', path: ['store', 'redisCluster'], convert: (value) => ({ nodes: commaList(value) }) },
  { name: 'REDIS_SENTINELS', path: ['store', 'redisSentinel', 'sentinels'], convert: (value) => commaList(value).map(hostAndPort) },
  { name: 'REDIS_SENTINEL_NAME', path: ['store', 'redisSentinel', 'name'] },
  { name: 'REDIS_ALLOW_EVICTION', path: ['store', 'allowEvictingRedis'], convert: (value) => value === 'true' || value === '1' },
  { name: 'DPOP_REQUIRE_NONCE', path: ['dpop', 'requireNonce'], convert: (value) => value === 'true' || value === '1' },
  { name: 'DPOP_REPLAY_CACHE_MAX_ENTRIES', path: ['dpop', 'replayCacheMaxEntries'], convert: Number },
  { name: 'DPOP_REPLAY_CACHE_MAX_ENTRIES_PER_OWNER', path: ['dpop', 'replayCacheMaxEntriesPerOwner'], convert: Number },
  { name: 'HEADERS_TIMEOUT_MS', path: ['http', 'headersTimeoutMs'], convert: Number },
  { name: 'REQUEST_TIMEOUT_MS', path: ['http', 'requestTimeoutMs'], convert: Number },
  { name: 'KEEP_ALIVE_TIMEOUT_MS', path: ['http', 'keepAliveTimeoutMs'], convert: Number },
  { name: 'MAX_CONNECTIONS_PER_ADDRESS', path: ['http', 'maxConnectionsPerAddress'], convert: Number },
  { name: 'MAX_CONNECTIONS', path: ['http', 'maxConnections'], convert: Number },
  { name: 'SHUTDOWN_DRAIN_MS', path: ['http', 'shutdownDrainMs'], convert: Number },
];

function commaList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** `host:port` or `[v6]:port` (the port a number, for the schema to check), or the host alone for the schema's default port. */
function hostAndPort(value: string): { host: string; port?: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(.*))?$/.exec(value);
  if (!match) return { host: value };
  const host = match[1] ?? match[2]!;
  return match[3] === undefined ? { host } : { host, port: Number(match[3]) };
}

/**
 * Every environment variable the loader reads: CONFIG_FILE and the overrides. Deployment files
 * are checked against it (test/unit/deploy-files.test.ts), so none sets a variable nothing reads.
 */
export const environmentVariables: readonly string[] = [configFileVariable, ...environmentOverrides.map(({ name }) => name)];

function setPath(raw: RawObject, path: string[], value: unknown): void {
  let node = raw;
  for (const key of path.slice(0, -1)) {
    const child = node[key];
    node = isObject(child) ? child : (node[key] = {}) as RawObject;
  }
  node[path[path.length - 1]!] = value;
}

export const defaultConfigFile = 'config/default.json';

/** Reads the config file named by CONFIG_FILE (or config/default.json), applies env overrides, validates. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const file = env[configFileVariable] || defaultConfigFile;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`config: cannot read ${file}: ${(error as Error).message}`);
  }
  if (!isObject(raw)) throw new ConfigError(`config: ${file} must hold a JSON object`);
  for (const { name, path, convert } of environmentOverrides) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, path, convert ? convert(value) : value);
  }
  return parseConfig(raw, file);
}

/** Validates a raw config object; the error names each offending field by its path. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(`invalid configuration in ${source}:\n${formatIssues(result.error)}`);
  }
  return result.data;
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `  - ${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('\n');
}
