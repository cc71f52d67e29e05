/**
 * Bounds for client-chosen strings that are echoed in log lines or error descriptions. Without
 * them, one unauthenticated request with a 60 KB grant_type writes a 60 KB log line and a 60 KB
 * response: the client picks how much the server writes.
 */

/**
 * How much of a client-chosen value is echoed unless a caller says otherwise: in a description,
 * enough for any registered grant type URN (urn:ietf:params:oauth:grant-type:token-exchange).
 */
export const defaultDescriptionEcho = 48;
export const defaultLogEcho = 64;

/**
 * The first `max` characters of `value`, with `...(+N)` when N more were cut. A cut never
 * splits a surrogate pair, so the result is well-formed UTF-16 (and valid UTF-8 in a log).
 */
export function boundForDescription(value: string, max = defaultDescriptionEcho): string {
  if (value.length <= max) return value;
  const end = isHighSurrogate(value.charCodeAt(max - 1)) ? max - 1 : max;
  return `${value.slice(0, end)}...(+${value.length - end})`;
}

/**
 * `boundForDescription`, then control characters escaped (`\x1b`, `\u{2028}`, and the
 * backslash as `\\`): a value cannot forge a log line or drive a terminal that displays it.
 * Escaping follows the cut, so the result is at most a few times `max` whatever the input.
 */
export function boundForLog(value: string, max = defaultLogEcho): string {
  return boundForDescription(value, max).replace(logUnsafe, escapeCharacter);
}

/**
 * C0 controls, DEL, C1 controls, line and paragraph separators, bidirectional overrides and
 * isolates (they reorder what a reader sees), the byte-order mark, and the backslash itself.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this escapes
const logUnsafe = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\\]/g;

function escapeCharacter(character: string): string {
  if (character === '\\') return '\\\\';
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** How many entries of an array or object a log field keeps, and how deep it goes. */
const maxLoggedEntries = 16;
const maxLoggedDepth = 3;

/**
 * A copy of structured log detail with every string bounded by `boundForLog` (keys too),
 * arrays and objects cut to their first entries, and nesting cut at a small depth.
 */
export function boundValueForLog(value: unknown, max = defaultLogEcho, depth = 0): unknown {
  if (typeof value === 'string') return boundForLog(value, max);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= maxLoggedDepth) return '[nested]';
  if (Array.isArray(value)) {
    const kept = value.slice(0, maxLoggedEntries).map((entry) => boundValueForLog(entry, max, depth + 1));
    return value.length > maxLoggedEntries ? [...kept, `...(+${value.length - maxLoggedEntries})`] : kept;
  }
  const entries = Object.entries(value);
  // fromEntries defines own properties: a key named __proto__ stays a key.
  const bounded = Object.fromEntries(
    entries.slice(0, maxLoggedEntries).map(([key, entry]) => [boundForLog(key), boundValueForLog(entry, max, depth + 1)]),
  );
  if (entries.length > maxLoggedEntries) bounded['...'] = `+${entries.length - maxLoggedEntries}`;
  return bounded;
}
