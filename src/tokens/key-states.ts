/**
 * The key file is a plain JWK set (RFC 7517 §5) whose private keys may carry one extra member,
 * `state`: "active" (signs, and is published) or "published" (in the JWKS, not signing: before
 * activation, and until every token it signed has expired). A retired key is no longer in the
 * file. Unknown members are ignored by JWK readers (RFC 7517 §4), so the file stays a JWK set
 * for other tools; a set without any `state` means what it always did: the first key signs.
 */
export const keyStates = ['active', 'published'] as const;
export type KeyState = (typeof keyStates)[number];

export class KeySetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeySetError';
  }
}

type Member = Record<string, unknown>;

function label(key: Member, index: number): string {
  return typeof key.kid === 'string' ? key.kid : `#${index}`;
}

/**
 * The index of the one active key. Keys without `state` are published once any key has a
 * state, so a key added by hand is never signing by surprise. Anything else is refused with
 * one line naming the fix.
 */
export function activeKeyIndex(keys: readonly Member[], source: string): number {
  if (!keys.some((key) => 'state' in key)) return 0;
  const active: number[] = [];
  for (const [index, key] of keys.entries()) {
    if (key.state === undefined || key.state === 'published') continue;
    if (key.state !== 'active') {
      throw new KeySetError(
        `signing key set ${source}: key ${label(key, index)} has state ${JSON.stringify(key.state)}; use "active" or "published" (a retired key is removed)`,
      );
    }
    active.push(index);
  }
  if (active.length === 0) {
    throw new KeySetError(`signing key set ${source}: no key has state "active"; exactly one must sign (npm run keys -- rotate KID)`);
  }
  if (active.length > 1) {
    const kids = active.map((index) => label(keys[index]!, index)).join(', ');
    throw new KeySetError(
      `signing key set ${source}: ${active.length} keys have state "active" (${kids}); exactly one signs, mark the others "published"`,
    );
  }
  return active[0]!;
}

/** Every key with its `state` written out, in file order (oldest first: generate appends). */
export function withExplicitStates<T extends Member>(keys: readonly T[], source: string): Array<T & { state: KeyState }> {
  const active = activeKeyIndex(keys, source);
  return keys.map((key, index) => ({ ...key, state: index === active ? 'active' : 'published' }));
}

/** Adds `key` as published; into an empty set it goes active, as a first start would make it. */
export function addPublishedKey<T extends Member>(keys: readonly T[], key: T, source: string): Array<T & { state: KeyState }> {
  if (keys.length === 0) return [{ ...key, state: 'active' }];
  if (keys.some((existing) => existing.kid === key.kid))
    throw new KeySetError(`signing key set ${source}: a key with kid ${String(key.kid)} is already there`);
  return [...withExplicitStates(keys, source), { ...key, state: 'published' }];
}

/**
 * Makes `kid` (or the newest published key added after the active one) active; the key that
 * signed until now stays published, so the tokens it signed keep verifying. Without a kid,
 * a published key older than the active one is never chosen: running rotate twice does not
 * roll back to the previous key.
 */
export function activateKey<T extends Member>(
  keys: readonly T[],
  kid: string | undefined,
  source: string,
): { keys: Array<T & { state: KeyState }>; activated: string; previous: string } {
  const current = withExplicitStates(keys, source);
  const activeIndex = current.findIndex((key) => key.state === 'active');
  let next: number;
  if (kid !== undefined) {
    next = current.findIndex((key) => key.kid === kid);
    if (next < 0) throw new KeySetError(`signing key set ${source}: no key with kid ${kid}`);
    if (next === activeIndex) throw new KeySetError(`signing key set ${source}: ${kid} is already the active key`);
  } else {
    next = current.length - 1;
    if (next <= activeIndex) {
      throw new KeySetError(
        `signing key set ${source}: no published key newer than the active key ${label(current[activeIndex]!, activeIndex)}; run generate first (or name an older one: rotate KID)`,
      );
    }
  }
  return {
    keys: current.map((key, index) => ({ ...key, state: index === next ? 'active' : 'published' })),
    activated: label(current[next]!, next),
    previous: label(current[activeIndex]!, activeIndex),
  };
}

/** Removes a published key; the active key is refused (tokens could no longer be signed). */
export function retireKey<T extends Member>(keys: readonly T[], kid: string, source: string): Array<T & { state: KeyState }> {
  const current = withExplicitStates(keys, source);
  const index = current.findIndex((key) => key.kid === kid);
  if (index < 0) throw new KeySetError(`signing key set ${source}: no key with kid ${kid}`);
  if (current[index]!.state === 'active') {
    throw new KeySetError(
      `signing key set ${source}: ${kid} is the active key; rotate to another key first, and retire ${kid} after its tokens have expired`,
    );
  }
  return current.filter((_key, position) => position !== index);
}
