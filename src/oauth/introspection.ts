import { isPromise, type MaybePromise } from '../lib/maybe-promise.js';
import type { AccessTokenClaims } from '../tokens/access-token.js';
import type { ClientAssertionDeps } from './client-assertion.js';
import type { ClientAuthLimiter } from './client-auth-limiter.js';
import type { ClientRequestLimiter } from './client-request-limiter.js';
import { authenticateClient, clientCredentialsFrom } from './client-auth.js';
import type { ClientRegistry } from './clients.js';
import { OAuthError } from '../lib/oauth-error.js';

/** RFC 7662 response; for a DPoP-bound token `token_type` is "DPoP" and `cnf.jkt` is at the top level (RFC 9449 §6.2). */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      token_type: 'DPoP' | 'Bearer';
      scope: string;
      client_id: string;
      sub: string;
      aud: string | string[];
      iss: string;
      exp: number;
      iat: number;
      jti: string;
      cnf?: { jkt: string };
    };

export async function introspectToken(
  request: { params: Readonly<Record<string, string | undefined>>; authorization: string | undefined; address?: string },
  deps: {
    clients: ClientRegistry;
    assertions: ClientAssertionDeps;
    clientAuthLimiter?: ClientAuthLimiter;
    requestLimiter?: ClientRequestLimiter;
    verifyAccessToken: (token: string) => MaybePromise<AccessTokenClaims>;
  },
): Promise<IntrospectionResponse> {
  // RFC 7662 §2.1: callers must be authorised, against token scanning.
  const authenticated = authenticateClient(clientCredentialsFrom(request.params, request.authorization, request.address), deps);
  const caller = isPromise(authenticated) ? await authenticated : authenticated;
  const charged = deps.requestLimiter?.charge(caller.client_id);
  if (charged) await charged;
  if (!caller.introspection_allowed) {
    throw new OAuthError('unauthorized_client', 'client may not use the introspection endpoint', { reason: 'introspection' });
  }
  const token = request.params.token;
  if (!token) throw new OAuthError('invalid_request', 'token is required', { reason: 'token' });
  let claims: AccessTokenClaims;
  try {
    const verified = deps.verifyAccessToken(token);
    claims = isPromise(verified) ? await verified : verified;
  } catch (error) {
    // §2.2: unknown, expired, malformed and revoked tokens are all just inactive.
    if (error instanceof OAuthError) return { active: false };
    throw error;
  }
  return {
    active: true,
    token_type: claims.cnf?.jkt ? 'DPoP' : 'Bearer',
    scope: claims.scope,
    client_id: claims.client_id,
    sub: claims.sub,
    aud: claims.aud,
    iss: claims.iss,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    ...(claims.cnf?.jkt ? { cnf: { jkt: claims.cnf.jkt } } : {}),
  };
}
