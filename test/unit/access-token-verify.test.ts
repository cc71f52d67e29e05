import { sign } from 'node:crypto';
import { jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryRevokedTokens } from '../../src/stores/memory/revoked-tokens.js';
import { verifyAccessToken, type AccessTokenClaims } from '../../src/tokens/access-token.js';
import { generateSigningJwks, signingKeysFromJwks, type SigningKeys } from '../../src/tokens/keys.js';
import { testClock } from '../helpers/app.js';

/**
 * Access tokens are verified with node:crypto (src/lib/jws-verify.ts), not jose's jwtVerify:
 * each token below gets the answer jwtVerify gave, with the same reason.
 */

const issuer = 'https://op.example.test/oidc';
const audience = 'https://api.example.test';
const clock = testClock();
const now = () => Math.floor(clock() / 1000);
let keys: SigningKeys;
let otherKeys: SigningKeys;

beforeAll(async () => {
  keys = await signingKeysFromJwks(await generateSigningJwks('ES256'));
  otherKeys = await signingKeysFromJwks(await generateSigningJwks('ES256'));
});

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: issuer,
    sub: 'alice',
    aud: [audience, issuer],
    client_id: 'c',
    scope: 'api:read',
    iat: now(),
    exp: now() + 300,
    jti: 't-1',
    ...extra,
  };
}

function token(header: Record<string, unknown>, payload: Record<string, unknown>, signer = keys): string {
  const input = `${b64({ typ: 'at+jwt', alg: 'ES256', kid: signer.current.kid, ...header })}.${b64(payload)}`;
  const signature = sign('sha256', Buffer.from(input), { key: signer.current.nodeKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

function verify(value: string, options: { audience?: string } = {}): Promise<AccessTokenClaims> {
  return verifyAccessToken(value, { keys, issuer, clock, revoked: new MemoryRevokedTokens(10, clock), ...options });
}

/** What jose's jwtVerify, with the key resolver and options verifyAccessToken gave it, made of the token. */
async function joseAnswer(value: string, options: { audience?: string } = {}): Promise<string> {
  try {
    const resolver = (header: { kid?: string; alg?: string }) => {
      const key = header.kid ? keys.byKid.get(header.kid) : undefined;
      if (!key || key.alg !== header.alg) throw new Error('unknown key');
      return key.publicKey;
    };
    await jwtVerify(value, resolver, {
      issuer,
      typ: 'at+jwt',
      algorithms: [...keys.algorithms],
      currentDate: new Date(clock()),
      requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
      ...options,
    });
    return 'accepted';
  } catch (error) {
    return (error as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'expired' : 'invalid';
  }
}

async function answer(value: string, options: { audience?: string } = {}): Promise<string> {
  try {
    await verify(value, options);
    return 'accepted';
  } catch (error) {
    return (error as { reason?: string }).reason ?? 'thrown';
  }
}

describe('access token verification answers as jose did', () => {
  it.each([
    ['a valid token', () => token({}, claims()), 'accepted'],
    ['typ application/at+jwt (jose normalises typ)', () => token({ typ: 'application/at+jwt' }, claims()), 'accepted'],
    ['typ AT+JWT', () => token({ typ: 'AT+JWT' }, claims()), 'accepted'],
    ['typ JWT (RFC 9068 §4)', () => token({ typ: 'JWT' }, claims()), 'invalid'],
    ['no typ', () => token({ typ: undefined }, claims()), 'invalid'],
    ['an unknown kid', () => token({ kid: 'other' }, claims()), 'invalid'],
    ['no kid', () => token({ kid: undefined }, claims()), 'invalid'],
    ["an alg other than the key's", () => token({ alg: 'ES384' }, claims()), 'invalid'],
    ['a critical extension', () => token({ crit: ['exp'], exp: 1 }, claims()), 'invalid'],
    [
      'a signature by another key under our kid',
      () => token({ kid: 'x' }, claims(), otherKeys).replace(/^[^.]+/, b64({ typ: 'at+jwt', alg: 'ES256', kid: keys.current.kid })),
      'invalid',
    ],
    ['another issuer', () => token({}, claims({ iss: 'https://evil.example' })), 'invalid'],
    ['no iss', () => token({}, claims({ iss: undefined })), 'invalid'],
    ['no client_id', () => token({}, claims({ client_id: undefined })), 'invalid'],
    ['no jti', () => token({}, claims({ jti: undefined })), 'invalid'],
    ['a string iat', () => token({}, claims({ iat: String(now()) })), 'invalid'],
    ['a string exp', () => token({}, claims({ exp: String(now() + 60) })), 'invalid'],
    ['nbf in the future', () => token({}, claims({ nbf: now() + 1 })), 'invalid'],
    ['nbf now', () => token({}, claims({ nbf: now() })), 'accepted'],
    ['exp now', () => token({}, claims({ exp: now() })), 'expired'],
    ['exp a second from now', () => token({}, claims({ exp: now() + 1 })), 'accepted'],
    ['exp past and iss wrong (iss is checked first)', () => token({}, claims({ exp: now() - 1, iss: 'x' })), 'invalid'],
  ])('%s', async (_name, make, expected) => {
    const value = make();
    expect(await joseAnswer(value)).toBe(expected);
    expect(await answer(value)).toBe(expected);
  });

  it('checks aud only when the resource names itself', async () => {
    const value = token({}, claims({ aud: issuer }));
    expect(await answer(value)).toBe('accepted');
    expect([await joseAnswer(value, { audience }), await answer(value, { audience })]).toEqual(['invalid', 'invalid']);
    const named = token({}, claims({ aud: audience }));
    expect([await joseAnswer(named, { audience }), await answer(named, { audience })]).toEqual(['accepted', 'accepted']);
  });

  it('refuses a payload changed after signing', async () => {
    const [header, , signature] = token({}, claims()).split('.');
    const value = `${header}.${b64(claims({ scope: 'admin' }))}.${signature}`;
    expect([await joseAnswer(value), await answer(value)]).toEqual(['invalid', 'invalid']);
  });

  it('returns the claims of a valid token and refuses a revoked one', async () => {
    const revoked = new MemoryRevokedTokens(10, clock);
    const value = token({}, claims({ jti: 'revoked-1' }));
    await expect(verifyAccessToken(value, { keys, issuer, clock, revoked })).resolves.toMatchObject({ sub: 'alice', jti: 'revoked-1' });
    await revoked.revoke('revoked-1', clock() + 300_000);
    await expect(verifyAccessToken(value, { keys, issuer, clock, revoked })).rejects.toMatchObject({
      code: 'invalid_token',
      reason: 'revoked',
    });
  });
});
