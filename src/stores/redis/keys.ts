/**
 * The keys one script touches share a hash tag, the `{…}` part, so that Redis Cluster keeps
 * them in one slot (on one node), where a script may use them together: `<prefix>{<entity>}:<part>`.
 * Redis hashes only what lies between the first `{` and the next `}`; the key prefix has no
 * braces (the config refuses them), so that is the entity, or the start of it, which every key
 * of the entity shares either way.
 */
export function entityKey(prefix: string, entity: string, part: string): string {
  return `${prefix}{${entity}}:${part}`;
}
