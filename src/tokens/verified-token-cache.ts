import { isPromise, type MaybePromise } from '../lib/maybe-promise.js';
import { hash } from 'node:crypto';
import { OAuthError } from '../lib/oauth-error.js';
import type { Clock } from '../lib/clock.js';
import type { RevokedTokens } from '../stores/ports.js';
import { verifyAccessToken, type AccessTokenClaims } from './access-token.js';
import type { SigningKey, SigningKeys } from './keys.js';

/**
 * Access tokens already verified, by SHA-256 of the token, each kept until its `exp`: a resource
 * server introspects the same token on every call it receives, and the signature of a token we
 * verified cannot change. The denylist is still asked on every call, so a revoked token is
 * inactive at once; a reloaded key set (SIGHUP) empties nothing but is compared per entry, so a
 * retired key's tokens are verified again, and refused.
 */
export const verifiedTokenCacheMaxEntries = 10_000; // ~10 000 × ~0.5 KiB: a few MiB at most, whatever callers send

interface VerifiedEntry {
  claims: AccessTokenClaims;
  /** The key set it was verified with (KeyRing.byKid changes identity on reload). */
  byKid: ReadonlyMap<string, SigningKey>;
}

export interface VerifiedTokenCacheDeps {
  keys: SigningKeys;
  issuer: string;
  clock: Clock;
  revoked: RevokedTokens;
  audience?: string;
}

/** The claims, or a rejection (never a throw, as from verifyAccessToken) when the token is revoked. */
function notRevoked(claims: AccessTokenClaims, revoked: boolean): MaybePromise<AccessTokenClaims> {
  if (revoked) return Promise.reject(new OAuthError('invalid_token', 'access token has been revoked', { reason: 'revoked' }));
  return claims;
}

export class VerifiedTokenCache {
  private readonly entries = new Map<string, VerifiedEntry>();

  constructor(
    private readonly deps: VerifiedTokenCacheDeps,
    private readonly maxEntries = verifiedTokenCacheMaxEntries,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * verifyAccessToken, answered from the cache while the token is unexpired and its key set
   * unchanged: at once when the denylist answers at once (src/lib/maybe-promise.ts). Refusals reject.
   */
  verify(token: string): MaybePromise<AccessTokenClaims> {
    const { deps } = this;
    const cacheKey = hash('sha256', token, 'base64url');
    const entry = this.entries.get(cacheKey);
    if (entry) {
      if (entry.claims.exp > Math.floor(deps.clock() / 1000) && entry.byKid === deps.keys.byKid) {
        // At once when the denylist is in memory (src/lib/maybe-promise.ts).
        const revoked = deps.revoked.isRevoked(entry.claims.jti);
        if (isPromise(revoked)) return revoked.then((isRevoked) => notRevoked(entry.claims, isRevoked));
        return notRevoked(entry.claims, revoked);
      }
      this.entries.delete(cacheKey);
    }
    return this.verifyAndKeep(token, cacheKey);
  }

  private async verifyAndKeep(token: string, cacheKey: string): Promise<AccessTokenClaims> {
    const { deps } = this;
    const byKid = deps.keys.byKid;
    const claims = await verifyAccessToken(token, deps);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(cacheKey, { claims, byKid });
    return claims;
  }
}
