import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyPkce } from '../../src/oauth/pkce.js';
import { grantScopes, parseScope } from '../../src/oauth/scopes.js';
import { expectOAuthError } from '../helpers/protocol.js';

/** RFC 7636 Appendix B. */
const rfcVerifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const rfcChallenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

const refused = (run: () => unknown) => expectOAuthError(Promise.resolve().then(run), 'invalid_scope', 'scope');

describe('parseScope (RFC 6749 §3.3)', () => {
  it('splits on spaces, drops empty tokens and repeats, keeps order', () => {
    expect(parseScope('openid  profile openid ')).toEqual(['openid', 'profile']);
    expect(parseScope(undefined)).toEqual([]);
    expect(parseScope('')).toEqual([]);
  });

  it.each([
    ['a double quote', 'openid "x"'],
    ['a backslash', 'a\\b'],
    ['a tab', 'openid\tprofile'],
    ['a non-ASCII character', 'profilé'],
  ])('refuses a scope-token with %s (scope-token = 1*( %%x21 / %%x23-5B / %%x5D-7E ))', async (_case, scope) => {
    await refused(() => parseScope(scope));
  });
});

describe('grantScopes', () => {
  const allowed = new Set(['openid', 'profile', 'api:read']);

  it('grants every allowed scope when none is asked for (RFC 6749 §3.3: a documented default)', () => {
    expect(grantScopes(undefined, allowed)).toEqual(['openid', 'profile', 'api:read']);
    expect(grantScopes(' ', allowed)).toEqual(['openid', 'profile', 'api:read']);
  });

  it('grants what is asked for when all of it is allowed', () => {
    expect(grantScopes('api:read openid', allowed)).toEqual(['api:read', 'openid']);
  });

  it('refuses the whole request when any scope is not allowed, naming it (RFC 6749 §5.2 invalid_scope)', async () => {
    const error = await refused(() => grantScopes('openid admin', allowed));
    expect(error.message).toBe('scope not allowed for this client: admin');
  });

  it('does not take Object members for allowed scopes', async () => {
    await refused(() => grantScopes('constructor', allowed));
  });
});

describe('verifyPkce (RFC 7636 §4.6, S256)', () => {
  it('accepts the RFC 7636 Appendix B example', () => {
    expect(verifyPkce(rfcVerifier, rfcChallenge)).toBe(true);
  });

  it('refuses another verifier, and the challenge itself presented as the verifier (the plain method is not offered)', () => {
    expect(verifyPkce(`${rfcVerifier.slice(0, -1)}l`, rfcChallenge)).toBe(false);
    expect(verifyPkce(rfcChallenge, rfcChallenge)).toBe(false);
  });

  it('refuses a verifier outside 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1), whatever its hash', () => {
    const hashOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
    for (const verifier of ['a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(42)}+`, `${'a'.repeat(42)} `]) {
      expect(verifyPkce(verifier, hashOf(verifier))).toBe(false);
    }
    for (const verifier of ['a'.repeat(43), `${'a'.repeat(124)}-._~`]) {
      expect(verifyPkce(verifier, hashOf(verifier))).toBe(true);
    }
  });
});
