import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { userConfigSchema, usersConfigSchema, type UserConfig } from '../../src/config/schema/users.js';
import { claimsForScopes, StaticUserDirectory, type User } from '../../src/users/directory.js';
import { hashPassword } from '../../src/users/secret-hash.js';

let aliceHash: string;
beforeAll(async () => {
  aliceHash = await hashPassword('correct horse battery staple');
});

function userConfig(overrides: Partial<z.input<typeof userConfigSchema>> = {}): UserConfig {
  return userConfigSchema.parse({ sub: 'user-1', username: 'alice', password_hash: aliceHash, ...overrides });
}

const fullUser: User = {
  sub: 'user-1',
  username: 'alice',
  passwordHash: 'unused',
  claims: {
    name: 'Alice Example',
    given_name: 'Alice',
    family_name: 'Example',
    middle_name: 'M',
    nickname: 'al',
    preferred_username: 'alice',
    profile: 'https://example.com/alice',
    picture: 'https://example.com/alice.png',
    website: 'https://alice.example.com',
    gender: 'female',
    birthdate: '1990-01-02',
    zoneinfo: 'Europe/Paris',
    locale: 'fr-FR',
    updated_at: 1_700_000_000,
    email: 'alice@example.com',
    email_verified: true,
    phone_number: '+33 1 23 45 67 89',
    phone_number_verified: false,
    address: { locality: 'Paris', country: 'FR' },
  },
};

const profileClaims = [
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
];

describe('StaticUserDirectory.authenticate', () => {
  it('returns the user for the right password', async () => {
    const directory = new StaticUserDirectory([userConfig()]);
    const user = await directory.authenticate('alice', 'correct horse battery staple');
    expect(user).toMatchObject({ sub: 'user-1', username: 'alice' });
  });

  it('returns undefined for a wrong password', async () => {
    const directory = new StaticUserDirectory([userConfig()]);
    expect(await directory.authenticate('alice', 'correct horse battery stapler')).toBeUndefined();
  });

  it('returns undefined for an unknown username, after burning a scrypt verification like a wrong password', async () => {
    const directory = new StaticUserDirectory([userConfig()]);
    const started = performance.now();
    expect(await directory.authenticate('mallory', 'correct horse battery staple')).toBeUndefined();
    // An scrypt at N=16384 takes milliseconds; a bare map miss would take microseconds.
    expect(performance.now() - started).toBeGreaterThan(5);
  });

  it('compares usernames exactly (case-sensitive)', async () => {
    const directory = new StaticUserDirectory([userConfig()]);
    expect(await directory.authenticate('Alice', 'correct horse battery staple')).toBeUndefined();
  });
});

describe('StaticUserDirectory.findBySubject', () => {
  it('finds a user by sub and maps the config to a User', async () => {
    const directory = new StaticUserDirectory([userConfig({ claims: { email: 'alice@example.com' } })]);
    expect(await directory.findBySubject('user-1')).toEqual({
      sub: 'user-1',
      username: 'alice',
      passwordHash: aliceHash,
      claims: { email: 'alice@example.com' },
    });
    expect(await directory.findBySubject('user-2')).toBeUndefined();
  });
});

describe('user configuration', () => {
  it('defaults claims to {}', () => {
    expect(userConfig().claims).toEqual({});
  });

  it('refuses a password_hash that is not scrypt, a sub over 255 characters and an unknown claim', () => {
    expect(() => userConfig({ password_hash: 'hunter2' })).toThrow(/scrypt/);
    expect(() => userConfig({ password_hash: 'sha256$abc$def' })).toThrow(/scrypt/);
    expect(() => userConfig({ sub: 'x'.repeat(256) })).toThrow();
    expect(() => userConfig({ claims: { emial: 'alice@example.com' } as never })).toThrow(/emial/);
  });

  it('reports a duplicate sub or username at its path (usersConfigSchema)', () => {
    const alice = { sub: 'user-1', username: 'alice', password_hash: aliceHash };
    const result = usersConfigSchema.safeParse([alice, { ...alice, sub: 'user-2' }, { ...alice, username: 'bob' }]);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['1.username', 'duplicate username alice'],
      ['2.sub', 'duplicate sub user-1'],
    ]);
  });

  it('the constructor throws an Error naming the duplicate', () => {
    expect(() => new StaticUserDirectory([userConfig(), userConfig({ username: 'bob' })])).toThrow(/duplicate user sub user-1/);
    expect(() => new StaticUserDirectory([userConfig(), userConfig({ sub: 'user-2' })])).toThrow(/duplicate user username alice/);
  });
});

describe('claimsForScopes (OpenID Connect Core §5.4)', () => {
  it('always returns sub, and only sub for openid alone', () => {
    expect(claimsForScopes(fullUser, [])).toEqual({ sub: 'user-1' });
    expect(claimsForScopes(fullUser, ['openid'])).toEqual({ sub: 'user-1' });
  });

  it('profile releases exactly the fourteen profile claims', () => {
    expect(Object.keys(claimsForScopes(fullUser, ['openid', 'profile'])).sort()).toEqual(['sub', ...profileClaims].sort());
  });

  it('email releases email and email_verified', () => {
    expect(claimsForScopes(fullUser, ['openid', 'email'])).toEqual({
      sub: 'user-1',
      email: 'alice@example.com',
      email_verified: true,
    });
  });

  it('address releases address', () => {
    expect(claimsForScopes(fullUser, ['address'])).toEqual({ sub: 'user-1', address: { locality: 'Paris', country: 'FR' } });
  });

  it('phone releases phone_number and phone_number_verified (false included)', () => {
    expect(claimsForScopes(fullUser, ['phone'])).toEqual({
      sub: 'user-1',
      phone_number: '+33 1 23 45 67 89',
      phone_number_verified: false,
    });
  });

  it('leaves out claims the user does not have, and ignores unknown scopes and Object.prototype names', () => {
    const user: User = { ...fullUser, claims: { name: 'Alice', email_verified: false } };
    expect(claimsForScopes(user, ['profile', 'email', 'phone', 'api:read', 'constructor', 'toString'])).toEqual({
      sub: 'user-1',
      name: 'Alice',
      email_verified: false,
    });
  });
});
