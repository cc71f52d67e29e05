import { OAuthError } from '../lib/oauth-error.js';
import { newGrantTokenId } from '../lib/grant-tag.js';
import type { Clock } from '../lib/clock.js';
import type { RevokedTokens } from '../stores/ports.js';
import { signCompactJws } from './jws.js';
import { randomBase64url } from '../lib/random.js';
import { assertNoCriticalExtensions, decodeCompactJws, decodeJsonPayload, publicKeyOf, verifyJwsSignature } from '../lib/jws-verify.js';
import type { SigningKeys } from './keys.js';

/** RFC 9068 JWT access tokens: `typ: at+jwt`, signed, with `cnf.jkt` when DPoP-bound (RFC 9449 §6.1). */

export interface AccessTokenClaims {
  iss: string;
  sub: string;
  /** The resource server(s); always includes the issuer, whose profile endpoint is a resource too. */
  aud: string | string[];
  client_id: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
  auth_time?: number;
  cnf?: { jkt: string };
}

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface AccessTokenGrant {
  subject: string;
  clientId: string;
  scope: string;
  /** Thumbprint of the DPoP key the token is bound to; absent for a Bearer token. */
  jkt?: string | undefined;
  authTime?: number | undefined;
  /** The grant the token belongs to: its `jti` then names the grant (see src/lib/grant-tag.ts). */
  grantId?: string | undefined;
}

export interface IssuedAccessToken {
  token: string;
  claims: AccessTokenClaims;
  tokenType: 'DPoP' | 'Bearer';
  expiresIn: number;
}

export function newTokenId(): string {
  return randomBase64url(16);
}

export function issueAccessToken(
  grant: AccessTokenGrant,
  deps: { keys: SigningKeys; settings: AccessTokenSettings; clock: Clock },
): IssuedAccessToken {
  const { keys, settings, clock } = deps;
  const iat = Math.floor(clock() / 1000);
  const claims: AccessTokenClaims = {
    iss: settings.issuer,
    sub: grant.subject,
    aud: settings.audience === settings.issuer ? settings.issuer : [settings.audience, settings.issuer],
    client_id: grant.clientId,
    scope: grant.scope,
    iat,
    exp: iat + settings.ttlSeconds,
    jti: grant.grantId === undefined ? newTokenId() : newGrantTokenId(grant.grantId),
  };
  if (grant.authTime !== undefined) claims.auth_time = grant.authTime;
  if (grant.jkt) claims.cnf = { jkt: grant.jkt };
  // The active key is read here, per token: after a reload (SIGHUP) the next token has the new kid.
  const token = signCompactJws({ typ: 'at+jwt' }, claims as unknown as Record<string, unknown>, keys.current);
  return { token, claims, tokenType: grant.jkt ? 'DPoP' : 'Bearer', expiresIn: settings.ttlSeconds };
}

/** A token that is syntactically a JWS; anything else is not ours and is refused early. */
const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Verifies one of our access tokens: signature by one of our keys, `typ` at+jwt (RFC 9068 §4),
 * issuer, expiry, required claims, not revoked. Throws `invalid_token` with a reason.
 */
export async function verifyAccessToken(
  token: string,
  deps: { keys: SigningKeys; issuer: string; clock: Clock; revoked: RevokedTokens; audience?: string },
): Promise<AccessTokenClaims> {
  if (token.length > 8192 || !compactJws.test(token)) {
    throw new OAuthError('invalid_token', 'access token is malformed', { reason: 'malformed' });
  }
  // Verified with node:crypto (src/lib/jws-verify.ts), the checks and their order as jose's
  // jwtVerify made them: signature by a known kid of the header's alg, then RFC 9068 §4 typ,
  // required claims, iss, aud, nbf, exp. Only an expired token says so.
  const claims = accessTokenPayload(token, deps) as unknown as AccessTokenClaims;
  if (await deps.revoked.isRevoked(claims.jti)) {
    throw new OAuthError('invalid_token', 'access token has been revoked', { reason: 'revoked' });
  }
  return claims;
}

const requiredClaims = ['sub', 'exp', 'iat', 'jti', 'client_id'] as const;

function invalidToken(): OAuthError {
  return new OAuthError('invalid_token', 'access token is invalid', { reason: 'invalid' });
}

/** jose compares `typ` case-insensitively, with or without "application/" (RFC 7515 §4.1.9). */
function isAccessTokenTyp(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const normalized = typ.toLowerCase();
  return normalized === 'at+jwt' || normalized === 'application/at+jwt';
}

function accessTokenPayload(
  token: string,
  deps: { keys: SigningKeys; issuer: string; clock: Clock; audience?: string },
): Record<string, unknown> {
  let header: Record<string, unknown>;
  let signingInput: string;
  let payloadSegment: string;
  let signatureSegment: string;
  try {
    ({ header, signingInput, payloadSegment, signatureSegment } = decodeCompactJws(token));
    assertNoCriticalExtensions(header);
  } catch {
    throw invalidToken();
  }
  const { alg, kid } = header;
  // The key set is read per token, not captured: a published key verifies until it is retired.
  if (typeof alg !== 'string' || !deps.keys.algorithms.includes(alg) || typeof kid !== 'string') throw invalidToken();
  const key = deps.keys.byKid.get(kid);
  if (!key || key.alg !== alg) throw invalidToken();
  let publicKey;
  try {
    publicKey = publicKeyOf(key.nodeKey, alg);
  } catch {
    throw invalidToken();
  }
  if (!verifyJwsSignature(alg, publicKey, signingInput, signatureSegment)) throw invalidToken();
  let payload: unknown;
  try {
    payload = decodeJsonPayload(payloadSegment);
  } catch {
    throw invalidToken();
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw invalidToken();
  const claims = payload as Record<string, unknown>;
  if (!isAccessTokenTyp(header.typ)) throw invalidToken();
  for (const claim of requiredClaims) if (!Object.hasOwn(claims, claim)) throw invalidToken();
  if (!Object.hasOwn(claims, 'iss') || claims.iss !== deps.issuer) throw invalidToken();
  // RFC 9068 §4: a resource accepts only tokens whose aud names it.
  if (deps.audience !== undefined) {
    const { aud } = claims;
    const named = typeof aud === 'string' ? aud === deps.audience : Array.isArray(aud) && aud.includes(deps.audience);
    if (!named) throw invalidToken();
  }
  const now = Math.floor(deps.clock() / 1000);
  const { iat, nbf, exp } = claims;
  if (typeof iat !== 'number') throw invalidToken();
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now)) throw invalidToken();
  if (typeof exp !== 'number') throw invalidToken();
  if (exp <= now) throw new OAuthError('invalid_token', 'access token has expired', { reason: 'expired' });
  return claims;
}
