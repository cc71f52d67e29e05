import { compactVerify } from 'jose';
import type { SigningKeys } from '../tokens/keys.js';
import type { Client, ClientRegistry } from './clients.js';
import { OAuthError } from './errors.js';

/**
 * OpenID Connect RP-Initiated Logout 1.0: who asks, and where the browser may go afterwards.
 * A post_logout_redirect_uri is followed only when it is registered for the client, so the
 * endpoint is no open redirector (RFC 9700 §4.11).
 */
export interface LogoutRequest {
  client: Client | undefined;
  redirectUri: string | undefined;
  state: string | undefined;
  /** `sub` of a valid id_token_hint: the RP vouches for which user is signing out. */
  hintSub: string | undefined;
}

/** Verifies an ID token we issued; expiry does not matter for a logout hint (§2). */
export async function verifyIdTokenHint(token: string, deps: { keys: SigningKeys; issuer: string }): Promise<{ sub: string; aud: string } | undefined> {
  try {
    const { payload, protectedHeader } = await compactVerify(
      token,
      (header) => {
        const key = header.kid ? deps.keys.byKid.get(header.kid) : undefined;
        if (!key || key.alg !== header.alg) throw new Error('unknown key');
        return key.publicKey;
      },
      { algorithms: [...deps.keys.algorithms] },
    );
    // Only ID tokens (typ JWT); an access token (typ at+jwt) is no logout hint.
    if (protectedHeader.typ !== 'JWT') return undefined;
    const claims = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
    if (claims.iss !== deps.issuer || typeof claims.sub !== 'string' || typeof claims.aud !== 'string') return undefined;
    return { sub: claims.sub, aud: claims.aud };
  } catch {
    return undefined;
  }
}

export async function resolveLogoutRequest(
  params: Readonly<Record<string, unknown>>,
  deps: { clients: ClientRegistry; verifyIdTokenHint: (token: string) => Promise<{ sub: string; aud: string } | undefined> },
): Promise<LogoutRequest> {
  const text = (name: string): string | undefined => {
    const value = params[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new OAuthError('invalid_request', `parameter ${name} is repeated or malformed`, { reason: 'repeated' });
    return value;
  };
  const idTokenHint = text('id_token_hint');
  let hint: { sub: string; aud: string } | undefined;
  if (idTokenHint) {
    hint = await deps.verifyIdTokenHint(idTokenHint);
    if (!hint) throw new OAuthError('invalid_request', 'id_token_hint is not a valid ID token from this provider', { reason: 'id_token_hint' });
  }
  const clientId = text('client_id');
  if (clientId && hint && clientId !== hint.aud) {
    throw new OAuthError('invalid_request', 'client_id does not match the id_token_hint', { reason: 'client_id' });
  }
  const resolvedId = clientId ?? hint?.aud;
  const client = resolvedId ? deps.clients.find(resolvedId) : undefined;
  if (resolvedId && !client) throw new OAuthError('invalid_request', 'unknown client_id', { reason: 'client_id' });
  const redirectUri = text('post_logout_redirect_uri');
  if (redirectUri !== undefined && !client?.post_logout_redirect_uris.includes(redirectUri)) {
    throw new OAuthError('invalid_request', 'post_logout_redirect_uri is not registered for this client', {
      reason: 'post_logout_redirect_uri',
    });
  }
  return { client, redirectUri, state: text('state'), hintSub: hint?.sub };
}

/** Where the browser goes after signing out, with `state` (§3), or undefined for the provider's own page. */
export function postLogoutUrl(request: LogoutRequest): string | undefined {
  if (!request.redirectUri) return undefined;
  const url = new URL(request.redirectUri);
  if (request.state !== undefined) url.searchParams.set('state', request.state);
  return url.toString();
}
