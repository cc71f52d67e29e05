import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ResourceAccess, ResourceRequest } from '../../oauth/protected-resource.js';
import type { AccessTokenClaims } from '../../tokens/access-token.js';
import { headerValues } from '../headers.js';
import { andThen, type MaybePromise } from '../../lib/maybe-promise.js';

/** The OpenID Connect userinfo endpoint, GET and POST (OIDC Core §5.3), as a DPoP protected resource. */
export function registerProfileRoute(
  app: FastifyInstance,
  deps: {
    path: string;
    authorize: (request: ResourceRequest) => MaybePromise<ResourceAccess>;
    claimsFor: (token: AccessTokenClaims) => MaybePromise<Record<string, unknown>>;
  },
): void {
  const answer = (request: FastifyRequest, reply: FastifyReply, access: ResourceAccess) => {
    request.clientId = access.claims.client_id;
    request.tokenType = access.claims.cnf?.jkt ? 'DPoP' : 'Bearer';
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    if (access.dpopNonce) reply.header('dpop-nonce', access.dpopNonce);
    // Its refusals carry the challenge for the token's scheme already (src/oauth/userinfo.ts).
    return deps.claimsFor(access.claims);
  };
  // Not async: an answer that is there at once is sent at once (src/lib/maybe-promise.ts).
  const handler = (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.query as Record<string, unknown> | undefined;
    const body = request.body as Record<string, unknown> | undefined;
    const access = deps.authorize({
      method: request.method,
      authorizationHeaders: headerValues(request, 'authorization'),
      dpopHeaders: headerValues(request, 'dpop'),
      tokenInParameters: carriesToken(query) || (typeof body === 'object' && body !== null && carriesToken(body)),
    });
    return andThen(access, (granted) => answer(request, reply, granted));
  };
  const options = { config: { protectedResource: true } };
  app.register(async (scope) => {
    // A POST without parameters may still say `Content-Type: application/json`: an empty body is
    // no error here, since the token travels in the Authorization header (OIDC Core §5.3.1).
    const json = scope.getDefaultJsonParser('error', 'error');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (body === '') return done(null, undefined);
      void json(request, body as string, done);
    });
    scope.get(deps.path, options, handler);
    scope.post(deps.path, options, handler);
  });
}

/** A token in the query or body, under the RFC 6750 name or the RFC 7662 one. */
function carriesToken(parameters: Record<string, unknown> | undefined): boolean {
  return parameters?.access_token !== undefined || parameters?.token !== undefined;
}
