import { describe, expect, it } from 'vitest';
import { InteractionSeal, maxSealedLength } from '../../src/oauth/authorize/interaction-seal.js';
import type { NonceSecrets } from '../../src/dpop/nonce.js';

const secretA = Buffer.from('a'.repeat(32));
const secretB = Buffer.from('b'.repeat(32));
const sealWith = (secrets: () => NonceSecrets, cookieName = 'dpop_oidc_interaction') => new InteractionSeal(secrets, { cookieName });

describe('the sealed interaction cookie (AES-256-GCM, key by HKDF from the nonce secret)', () => {
  it('opens what it sealed, and seals the same text differently each time (a random 96-bit IV)', () => {
    const seal = sealWith(() => ({ current: secretA }));
    const first = seal.seal('{"id":"x"}');
    const second = seal.seal('{"id":"x"}');
    expect(first).not.toBe(second);
    expect(first).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(seal.open(first)).toBe('{"id":"x"}');
    // 12 bytes of IV and 16 of tag around the 10 bytes of text.
    expect(Buffer.from(first, 'base64url')).toHaveLength(12 + 16 + 10);
  });

  it('opens nothing changed by one byte, cut short, or not base64url', () => {
    const seal = sealWith(() => ({ current: secretA }));
    const sealed = Buffer.from(seal.seal('{"id":"x"}'), 'base64url');
    for (let index = 0; index < sealed.length; index++) {
      const changed = Buffer.from(sealed);
      changed[index]! ^= 1;
      expect(seal.open(changed.toString('base64url'))).toBeUndefined();
    }
    expect(seal.open(sealed.subarray(0, 28).toString('base64url'))).toBeUndefined();
    expect(seal.open('not base64url!')).toBeUndefined();
    expect(seal.open('')).toBeUndefined();
  });

  it('opens nothing sealed for another cookie name (the additional data binds name and purpose)', () => {
    const sealed = sealWith(() => ({ current: secretA }), 'other_cookie').seal('{}');
    expect(sealWith(() => ({ current: secretA })).open(sealed)).toBeUndefined();
  });

  it('opens nothing sealed under another secret, and what the previous secret sealed after a rotation', () => {
    let secrets: NonceSecrets = { current: secretA };
    const seal = sealWith(() => secrets);
    const beforeRotation = seal.seal('{"before":true}');
    expect(sealWith(() => ({ current: secretB })).open(beforeRotation)).toBeUndefined();
    secrets = { current: secretB, previous: secretA };
    expect(seal.open(beforeRotation)).toBe('{"before":true}');
    const afterRotation = seal.seal('{}');
    expect(sealWith(() => ({ current: secretB })).open(afterRotation)).toBe('{}');
    secrets = { current: Buffer.from('c'.repeat(32)), previous: secretB };
    expect(seal.open(beforeRotation)).toBeUndefined();
  });

  it('does not use the nonce secret itself as the key (HKDF with its own label)', async () => {
    const { createDecipheriv } = await import('node:crypto');
    const bytes = Buffer.from(sealWith(() => ({ current: secretA })).seal('{}'), 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', secretA, bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from('dpop_oidc_interaction\npending sign-in v1'));
    decipher.setAuthTag(bytes.subarray(12, 28));
    decipher.update(bytes.subarray(28));
    expect(() => decipher.final()).toThrow();
  });

  it(`does not try to open a value longer than a cookie may be (${maxSealedLength} characters)`, () => {
    const seal = sealWith(() => ({ current: secretA }));
    const long = seal.seal('x'.repeat(3000));
    expect(long.length).toBeGreaterThan(maxSealedLength);
    expect(seal.open(long)).toBeUndefined();
  });
});
