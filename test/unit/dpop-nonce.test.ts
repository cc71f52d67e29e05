import { describe, expect, it } from 'vitest';
import { DpopNonces } from '../../src/dpop/nonce.js';
import { testClock } from '../helpers/app.js';
import { nqchars } from '../helpers/dpop-verifier.js';

/** Stateless DPoP nonces (RFC 9449 §8 authorization server, §9 resource server). */

const jkt = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';
const otherJkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const stepMs = 60_000;

function nonceFixture(secret = 'unit-test-nonce-secret-0123456789abcdef') {
  // Starts on a step boundary, so "one step later" is exactly stepMs later.
  const clock = testClock(Date.UTC(2026, 10, 29, 12, 0, 0));
  return { clock, nonces: new DpopNonces(Buffer.from(secret), stepMs / 1000, clock) };
}

describe('a nonce is valid in the step it was issued in and the next (RFC 9449 §8 "recently supplied")', () => {
  it('verifies a nonce just issued', () => {
    const { nonces } = nonceFixture();
    expect(nonces.verify('token', jkt, nonces.issue('token', jkt))).toBe(true);
  });

  it('verifies a nonce at the end of its own step', () => {
    const { clock, nonces } = nonceFixture();
    const nonce = nonces.issue('token', jkt);
    clock.advance(stepMs - 1);
    expect(nonces.verify('token', jkt, nonce)).toBe(true);
  });

  it('verifies a nonce from the previous step', () => {
    const { clock, nonces } = nonceFixture();
    const nonce = nonces.issue('token', jkt);
    clock.advance(2 * stepMs - 1);
    expect(nonces.verify('token', jkt, nonce)).toBe(true);
  });

  it('refuses a nonce two steps old', () => {
    const { clock, nonces } = nonceFixture();
    const nonce = nonces.issue('token', jkt);
    clock.advance(2 * stepMs);
    expect(nonces.verify('token', jkt, nonce)).toBe(false);
  });

  it('refuses a nonce from a future step', () => {
    const { clock, nonces } = nonceFixture();
    clock.advance(stepMs);
    const nonce = nonces.issue('token', jkt);
    clock.advance(-stepMs);
    expect(nonces.verify('token', jkt, nonce)).toBe(false);
  });

  it('issues a different nonce in the next step', () => {
    const { clock, nonces } = nonceFixture();
    const first = nonces.issue('token', jkt);
    clock.advance(stepMs);
    expect(nonces.issue('token', jkt)).not.toBe(first);
  });
});

describe('a nonce is valid only for its key, its issuer and its secret (RFC 9449 §9)', () => {
  it('refuses a nonce issued for another key', () => {
    const { nonces } = nonceFixture();
    expect(nonces.verify('token', jkt, nonces.issue('token', otherJkt))).toBe(false);
  });

  it('refuses a resource-server nonce at the token endpoint', () => {
    const { nonces } = nonceFixture();
    expect(nonces.verify('token', jkt, nonces.issue('resource', jkt))).toBe(false);
  });

  it('refuses a token-endpoint nonce at the resource server', () => {
    const { nonces } = nonceFixture();
    expect(nonces.verify('resource', jkt, nonces.issue('token', jkt))).toBe(false);
  });

  it('refuses a nonce made with another secret', () => {
    const ours = nonceFixture();
    const theirs = nonceFixture('another-secret-0123456789abcdef-0123456');
    expect(ours.nonces.verify('token', jkt, theirs.nonces.issue('token', jkt))).toBe(false);
  });

  it('accepts a nonce issued by another instance sharing the secret', () => {
    const one = nonceFixture();
    const two = nonceFixture();
    expect(two.nonces.verify('token', jkt, one.nonces.issue('token', jkt))).toBe(true);
  });
});

describe('a nonce must exactly match an issued one (RFC 9449 §8: "does not exactly match ... MUST reject")', () => {
  function flip(char: string): string {
    return char === 'A' ? 'B' : 'A';
  }

  it('refuses a nonce with one character of its MAC changed', () => {
    const { nonces } = nonceFixture();
    const nonce = nonces.issue('token', jkt);
    const dot = nonce.indexOf('.');
    const tampered = `${nonce.slice(0, dot + 5)}${flip(nonce[dot + 5]!)}${nonce.slice(dot + 6)}`;
    expect(nonces.verify('token', jkt, tampered)).toBe(false);
  });

  it('refuses a nonce whose step was changed', () => {
    const { nonces } = nonceFixture();
    const nonce = nonces.issue('token', jkt);
    const dot = nonce.indexOf('.');
    const previousStep = (Number.parseInt(nonce.slice(0, dot), 36) - 1).toString(36);
    expect(nonces.verify('token', jkt, `${previousStep}${nonce.slice(dot)}`)).toBe(false);
  });

  it.each([
    ['the empty string', () => ''],
    ['the step alone', (nonce: string) => nonce.slice(0, nonce.indexOf('.'))],
    ['the MAC alone', (nonce: string) => nonce.slice(nonce.indexOf('.') + 1)],
    ['a truncated MAC', (nonce: string) => nonce.slice(0, -2)],
  ])('refuses %s', (_name, make) => {
    const { nonces } = nonceFixture();
    expect(nonces.verify('token', jkt, make(nonces.issue('token', jkt)))).toBe(false);
  });

  it('refuses an issued nonce with characters appended that a lenient base64url decoder drops', () => {
    const { nonces } = nonceFixture();
    const nonce = nonces.issue('token', jkt);
    expect(nonces.verify('token', jkt, `${nonce}!!`)).toBe(false);
    expect(nonces.verify('token', jkt, `${nonce}==`)).toBe(false);
  });

  it('refuses an issued nonce whose last character is swapped for one decoding to the same bytes', () => {
    // A 32-byte MAC is 43 base64url characters; the last one carries 2 unused bits.
    const { nonces } = nonceFixture();
    const nonce = nonces.issue('token', jkt);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const lastIndex = alphabet.indexOf(nonce.at(-1)!);
    const sibling = alphabet[lastIndex ^ 1]!;
    const variant = `${nonce.slice(0, -1)}${sibling}`;
    expect(Buffer.from(variant.split('.')[1]!, 'base64url')).toEqual(Buffer.from(nonce.split('.')[1]!, 'base64url'));
    expect(nonces.verify('token', jkt, variant)).toBe(false);
  });

  it('refuses an issued nonce whose step is written with a leading zero', () => {
    const { nonces } = nonceFixture();
    const nonce = nonces.issue('token', jkt);
    expect(nonces.verify('token', jkt, `0${nonce}`)).toBe(false);
  });
});

describe('nonce syntax is 1*NQCHAR (RFC 9449 §8.1)', () => {
  it('issues nonces made only of NQCHAR (%x21 / %x23-5B / %x5D-7E)', () => {
    const { clock, nonces } = nonceFixture();
    for (let step = 0; step < 50; step += 1) {
      for (const purpose of ['token', 'resource'] as const) {
        expect(nonces.issue(purpose, `${jkt}${step}`)).toMatch(nqchars);
      }
      clock.advance(stepMs);
    }
  });

  it('the NQCHAR pattern itself refuses space, double quote and backslash', () => {
    for (const char of [' ', '"', '\\', '\u007f', '\u00e9']) expect(`a${char}b`).not.toMatch(nqchars);
    expect('!#[]~').toMatch(nqchars);
  });
});

describe('nonce secret rotation: the previous secret is accepted, one rotation back', () => {
  const oldSecret = Buffer.from('old-nonce-secret-0123456789abcdef-0123456');
  const newSecret = Buffer.from('new-nonce-secret-0123456789abcdef-0123456');
  const newerSecret = Buffer.from('newer-nonce-secret-0123456789abcdef-01234');

  it('accepts a nonce made with the previous secret, and issues with the current one only', () => {
    const clock = testClock(Date.UTC(2026, 10, 29, 12, 0, 0));
    const before = new DpopNonces(oldSecret, 60, clock);
    const nonce = before.issue('token', jkt);
    before.useSecrets({ current: newSecret, previous: oldSecret });
    expect(before.verify('token', jkt, nonce)).toBe(true);
    const fresh = before.issue('token', jkt);
    expect(fresh).not.toBe(nonce);
    expect(new DpopNonces(newSecret, 60, clock).verify('token', jkt, fresh)).toBe(true);
    expect(new DpopNonces(oldSecret, 60, clock).verify('token', jkt, fresh)).toBe(false);
  });

  it('refuses a nonce of the secret two rotations back, and one whose step has passed even with the previous secret', () => {
    const clock = testClock(Date.UTC(2026, 10, 29, 12, 0, 0));
    const nonces = new DpopNonces(oldSecret, 60, clock);
    const nonce = nonces.issue('token', jkt);
    nonces.useSecrets({ current: newerSecret, previous: newSecret });
    expect(nonces.verify('token', jkt, nonce)).toBe(false);
    nonces.useSecrets({ current: newSecret, previous: oldSecret });
    clock.advance(2 * stepMs);
    expect(nonces.verify('token', jkt, nonce)).toBe(false);
  });

  it('the previous secret keeps the purpose and key binding (§9): a token nonce is no resource nonce', () => {
    const clock = testClock();
    const nonces = new DpopNonces(oldSecret, 60, clock);
    const nonce = nonces.issue('token', jkt);
    nonces.useSecrets({ current: newSecret, previous: oldSecret });
    expect(nonces.verify('resource', jkt, nonce)).toBe(false);
    expect(nonces.verify('token', otherJkt, nonce)).toBe(false);
  });
});
