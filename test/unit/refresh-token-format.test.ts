import { describe, expect, it } from 'vitest';
import { hashOpaque } from '../../src/tokens/opaque.js';
import {
  newRefreshToken,
  refreshFamilyId,
  refreshTokenFamily,
  sealContext,
  sealSuccessor,
  unsealSuccessor,
} from '../../src/tokens/refresh-token.js';

describe('refresh tokens carry their family id (reuse detection without a record per retired token)', () => {
  const familyId = refreshFamilyId('grant-1');

  it('are 43 base64url characters (256 bits) that name their family', () => {
    const token = newRefreshToken(familyId);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(refreshTokenFamily(token)).toBe(familyId);
    expect(newRefreshToken(familyId)).not.toBe(token);
  });

  it('derive one family id per grant, 16 bytes, unrelated for other grants', () => {
    expect(refreshFamilyId('grant-1')).toBe(familyId);
    expect(Buffer.from(familyId, 'base64url')).toHaveLength(16);
    expect(refreshFamilyId('grant-2')).not.toBe(familyId);
  });

  it('refuse anything but the canonical spelling: other lengths, other characters, a changed last character', () => {
    const token = newRefreshToken(familyId);
    expect(refreshTokenFamily(token.slice(0, 42))).toBeUndefined();
    expect(refreshTokenFamily(`${token}A`)).toBeUndefined();
    expect(refreshTokenFamily(`${token.slice(0, 42)}+`)).toBeUndefined();
    // The last character holds 4 bits of the secret and 2 unused ones: a variant that decodes
    // to the same bytes is not a second name for the same token.
    const last = token.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(refreshTokenFamily(`${token.slice(0, 42)}${sibling}`)).toBeUndefined();
  });
});

describe('a successor sealed under the credential it replaces (for the holder retry)', () => {
  const previous = newRefreshToken(refreshFamilyId('g'));
  const successor = newRefreshToken(refreshFamilyId('g'));
  const context = sealContext(refreshFamilyId('g'), 3);

  it('opens with that credential and context only', () => {
    const sealed = sealSuccessor(successor, previous, context);
    expect(unsealSuccessor(sealed, previous, context)).toBe(successor);
    expect(unsealSuccessor(sealed, newRefreshToken(refreshFamilyId('g')), context)).toBeUndefined();
    expect(unsealSuccessor(sealed, previous, sealContext(refreshFamilyId('g'), 4))).toBeUndefined();
  });

  it('does not open with what the store holds (the hash of the credential)', () => {
    const sealed = sealSuccessor(successor, previous, context);
    expect(unsealSuccessor(sealed, hashOpaque(previous), context)).toBeUndefined();
    expect(sealed).not.toContain(successor);
  });

  it('refuses a tampered or truncated blob', () => {
    const sealed = Buffer.from(sealSuccessor(successor, previous, context), 'base64url');
    sealed[sealed.length - 1]! ^= 1;
    expect(unsealSuccessor(sealed.toString('base64url'), previous, context)).toBeUndefined();
    expect(unsealSuccessor('AAAA', previous, context)).toBeUndefined();
  });
});
