import { boundForDescription } from '../lib/bounded.js';
import { OAuthError } from '../lib/oauth-error.js';

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), space-delimited. */
const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function parseScope(scope: string | undefined): string[] {
  if (scope === undefined) return [];
  const tokens = scope.split(' ').filter(Boolean);
  if (!tokens.every((token) => scopeToken.test(token))) {
    throw new OAuthError('invalid_scope', 'scope is malformed', { reason: 'scope' });
  }
  return [...new Set(tokens)];
}

/** The requested scopes, all of which the client must be allowed; all allowed ones when none are requested. */
export function grantScopes(requested: string | undefined, allowed: ReadonlySet<string>): string[] {
  const scopes = parseScope(requested);
  if (scopes.length === 0) return [...allowed];
  const refused = scopes.filter((scope) => !allowed.has(scope));
  if (refused.length > 0) {
    throw new OAuthError('invalid_scope', `scope not allowed for this client: ${boundForDescription(refused.join(' '))}`, {
      reason: 'scope',
    });
  }
  return scopes;
}
