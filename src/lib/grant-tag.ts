import { hash } from 'node:crypto';
import { randomBase64url } from './random.js';

/**
 * A grant's access tokens name their grant in their `jti`: `<grant tag>.<random>`. The tag is a
 * hash of the grant id (the id itself stays private, as in refresh tokens), and every Redis key
 * of the grant carries it as its hash tag. So the token's denylist entry lives in the grant's
 * slot, and revoking the grant denies its live tokens in one script even on Redis Cluster; the
 * check of a presented token finds that entry from the `jti` alone.
 */
const tagBytes = 16;
const tokenIdPattern = /^([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{22}$/;

export function grantTag(grantId: string): string {
  return hash('sha256', `dpop-oidc grant tag\0${grantId}`, 'buffer').subarray(0, tagBytes).toString('base64url');
}

/** A new `jti` for an access token of `grantId`: 45 characters, 128 random bits after the tag. */
export function newGrantTokenId(grantId: string): string {
  return `${grantTag(grantId)}.${randomBase64url(16)}`;
}

/** The grant tag a `jti` carries, or undefined for a token of no grant (client credentials). */
export function grantTagOfTokenId(jti: string): string | undefined {
  return tokenIdPattern.exec(jti)?.[1];
}
