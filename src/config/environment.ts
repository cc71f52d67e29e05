import { boundForDescription } from '../lib/bounded.js';

/**
 * How an environment value becomes a config value. Strict: a value that is not plainly of the
 * type is an error naming the variable, never a silent false or NaN (DPOP_REQUIRE_NONCE=yes
 * must not mean "no nonce").
 */
export type EnvironmentType = 'string' | 'boolean' | 'integer' | 'trustProxy' | 'list' | 'hostPortList';

export interface EnvironmentOverride {
  name: string;
  /** The config field it sets. */
  path: readonly string[];
  type: EnvironmentType;
}

/** Names the config file to read. */
export const configFileVariable = 'CONFIG_FILE';

/** Environment variables that override the file, for what operators change most. */
export const environmentOverrides: readonly EnvironmentOverride[] = [
  { name: 'PORT', path: ['http', 'port'], type: 'integer' },
  { name: 'HOST', path: ['http', 'host'], type: 'string' },
  { name: 'ISSUER', path: ['issuer'], type: 'string' },
  { name: 'LOG_LEVEL', path: ['logLevel'], type: 'string' },
  { name: 'DATA_DIR', path: ['dataDir'], type: 'string' },
  { name: 'JWKS_FILE', path: ['keys', 'jwksFile'], type: 'string' },
  { name: 'DPOP_NONCE_SECRET', path: ['dpop', 'nonceSecret'], type: 'string' },
  { name: 'DPOP_PREVIOUS_NONCE_SECRET', path: ['dpop', 'previousNonceSecret'], type: 'string' },
  { name: 'TRUST_PROXY', path: ['http', 'trustProxy'], type: 'trustProxy' },
  { name: 'STORE', path: ['store', 'type'], type: 'string' },
  { name: 'REDIS_URL', path: ['store', 'redisUrl'], type: 'string' },
  { name: 'REDIS_ALLOW_EVICTION', path: ['store', 'allowEvictingRedis'], type: 'boolean' },
  { name: 'DPOP_REQUIRE_NONCE', path: ['dpop', 'requireNonce'], type: 'boolean' },
  { name: 'DPOP_REPLAY_CACHE_MAX_ENTRIES', path: ['dpop', 'replayCacheMaxEntries'], type: 'integer' },
  { name: 'DPOP_REPLAY_CACHE_MAX_ENTRIES_PER_OWNER', path: ['dpop', 'replayCacheMaxEntriesPerOwner'], type: 'integer' },
  { name: 'HEADERS_TIMEOUT_MS', path: ['http', 'headersTimeoutMs'], type: 'integer' },
  { name: 'REQUEST_TIMEOUT_MS', path: ['http', 'requestTimeoutMs'], type: 'integer' },
  { name: 'KEEP_ALIVE_TIMEOUT_MS', path: ['http', 'keepAliveTimeoutMs'], type: 'integer' },
  { name: 'MAX_CONNECTIONS_PER_ADDRESS', path: ['http', 'maxConnectionsPerAddress'], type: 'integer' },
  { name: 'MAX_CONNECTIONS', path: ['http', 'maxConnections'], type: 'integer' },
  { name: 'SHUTDOWN_DRAIN_MS', path: ['http', 'shutdownDrainMs'], type: 'integer' },
  { name: 'METRICS_ENABLED', path: ['metrics', 'enabled'], type: 'boolean' },
  { name: 'METRICS_PORT', path: ['metrics', 'port'], type: 'integer' },
  { name: 'METRICS_HOST', path: ['metrics', 'host'], type: 'string' },
  { name: 'REDIS_CLUSTER_NODES', path: ['store', 'redisCluster', 'nodes'], type: 'list' },
  { name: 'REDIS_SENTINELS', path: ['store', 'redisSentinel', 'sentinels'], type: 'hostPortList' },
  { name: 'REDIS_SENTINEL_NAME', path: ['store', 'redisSentinel', 'name'], type: 'string' },
];

export type Converted = { ok: true; value: unknown } | { ok: false; message: string };

const booleans: Record<string, boolean> = { true: true, false: false, 1: true, 0: false };

/** The config value an environment value stands for, or why it stands for none. */
export function convertEnvironmentValue(type: EnvironmentType, value: string): Converted {
  const got = `got ${JSON.stringify(boundForDescription(value, 40))}`;
  switch (type) {
    case 'string':
      return { ok: true, value };
    case 'boolean':
      return Object.hasOwn(booleans, value)
        ? { ok: true, value: booleans[value] }
        : { ok: false, message: `expected true, false, 1 or 0, ${got}` };
    case 'integer': {
      const number = Number(value);
      return /^-?\d+$/.test(value) && Number.isSafeInteger(number)
        ? { ok: true, value: number }
        : { ok: false, message: `expected an integer, ${got}` };
    }
    case 'trustProxy':
      // true/false, or the addresses and CIDRs of the proxies (the schema checks each).
      return { ok: true, value: value === 'true' ? true : value === 'false' ? false : value };
    case 'list':
      return { ok: true, value: commaList(value) };
    case 'hostPortList': {
      const entries = commaList(value).map(hostAndPort);
      return entries.length > 0 && entries.every((entry) => entry !== undefined)
        ? { ok: true, value: entries }
        : { ok: false, message: `expected host:port or [v6]:port, comma-separated, ${got}` };
    }
  }
}

function commaList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** `host:port`, `[v6]:port`, or the host alone (the schema's default port). */
function hostAndPort(value: string): { host: string; port?: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(value);
  if (!match) return undefined;
  const host = match[1] ?? match[2]!;
  return match[3] === undefined ? { host } : { host, port: Number(match[3]) };
}
