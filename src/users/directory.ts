import { randomBytes } from 'node:crypto';
import { findDuplicateUsers, type UserClaims, type UserConfig } from '../config/schema/users.js';
import { verifySecret } from './secret-hash.js';
import type { MaybePromise } from '../lib/maybe-promise.js';

export interface User {
  sub: string;
  username: string;
  passwordHash: string;
  claims: UserClaims;
}

/** Where users are looked up and their passwords checked. */
export interface UserDirectory {
  /** At once for the configured users (src/lib/maybe-promise.ts). */
  findBySubject(sub: string): MaybePromise<User | undefined>;
  /** The user when the password matches; undefined for a wrong password and an unknown username alike. */
  authenticate(username: string, password: string): Promise<User | undefined>;
}

/**
 * Burnt when the username is unknown, so the response takes as long as a wrong password and
 * timing does not tell which usernames exist. Same cost parameters as `hashPassword`.
 */
const decoyPasswordHash = `scrypt$16384$8$1$${randomBytes(16).toString('base64url')}$${randomBytes(32).toString('base64url')}`;

export class StaticUserDirectory implements UserDirectory {
  private readonly bySubject = new Map<string, User>();
  private readonly byUsername = new Map<string, User>();

  constructor(users: readonly UserConfig[]) {
    const [duplicate] = findDuplicateUsers(users);
    if (duplicate) throw new Error(`duplicate user ${duplicate.field} ${duplicate.value} (users.${duplicate.index})`);
    for (const config of users) {
      const user: User = Object.freeze({
        sub: config.sub,
        username: config.username,
        passwordHash: config.password_hash,
        claims: Object.freeze({
          ...config.claims,
          ...(config.claims.address && { address: Object.freeze({ ...config.claims.address }) }),
        }),
      });
      this.bySubject.set(user.sub, user);
      this.byUsername.set(user.username, user);
    }
  }

  findBySubject(sub: string): MaybePromise<User | undefined> {
    return this.bySubject.get(sub);
  }

  async authenticate(username: string, password: string): Promise<User | undefined> {
    const user = this.byUsername.get(username);
    const matches = await verifySecret(password, user?.passwordHash ?? decoyPasswordHash);
    return user && matches ? user : undefined;
  }
}

/** OpenID Connect Core §5.4: the claims each scope asks for. */
export const scopeClaims: Readonly<Record<string, readonly (keyof UserClaims)[]>> = {
  profile: [
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

/** `sub` always, plus the claims of each granted scope that the user has (§5.4). */
export function claimsForScopes(user: User, scopes: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = { sub: user.sub };
  for (const scope of scopes) {
    if (!Object.hasOwn(scopeClaims, scope)) continue;
    for (const name of scopeClaims[scope] ?? []) {
      const value = user.claims[name];
      if (value !== undefined) claims[name] = value;
    }
  }
  return claims;
}
