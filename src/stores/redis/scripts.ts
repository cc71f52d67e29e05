import type { Cluster, Redis } from 'ioredis';

/** One Redis server (standalone, or the master a Sentinel names) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export interface ScriptDefinition {
  /** The command's name on the client; prefixed, so that it cannot shadow a Redis command. */
  name: string;
  /** How many of the arguments are keys. On Cluster they must share a hash slot (one hash tag). */
  keys: number;
  lua: string;
}

export type Script = (keys: readonly string[], args: ReadonlyArray<string | number>) => Promise<unknown>;

/**
 * Defines a Lua script as a command of the client (ioredis `defineCommand`): it is sent in full
 * once per connection, then by its SHA1 (EVALSHA), and in full again when the server answers
 * NOSCRIPT (after a restart or SCRIPT FLUSH). The keys route the call to their slot on Cluster.
 */
export function defineScript(client: RedisClient, definition: ScriptDefinition): Script {
  const name = `dpopOidc_${definition.name}`;
  client.defineCommand(name, { lua: definition.lua, numberOfKeys: definition.keys });
  const command = Reflect.get(client, name) as (...args: Array<string | number>) => Promise<unknown>;
  return (keys, args) => {
    if (keys.length !== definition.keys) throw new Error(`${definition.name}: ${definition.keys} keys expected, ${keys.length} given`);
    return command.call(client, ...keys, ...args);
  };
}
