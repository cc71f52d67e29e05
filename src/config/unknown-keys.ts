import { jsonSchemaNodeAt } from './json-schema.js';

/**
 * The line for a key the schema does not have, at its full path, with the known key it most
 * likely meant: `clients.0.dpop_bound_access_token: unknown key (did you mean dpop_bound_access_tokens?)`.
 */
export function unknownKeyProblem(path: readonly PropertyKey[], key: string): string {
  const suggestion = closestKey(key, knownKeysAt(path));
  return `${[...path, key].map(String).join('.')}: unknown key${suggestion ? ` (did you mean ${suggestion}?)` : ''}`;
}

/** The keys the schema has at `path`; none if it cannot say (the hint is a courtesy, the error stands). */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  try {
    return Object.keys(jsonSchemaNodeAt(path)?.properties ?? {});
  } catch {
    return [];
  }
}

/** The known key within a few edits of `key` (a typo, a missing plural), if one is clearly closest. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(key.length / 4));
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
