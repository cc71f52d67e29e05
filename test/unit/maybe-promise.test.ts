import { describe, expect, it } from 'vitest';
import { DpopNonces } from '../../src/dpop/nonce.js';
import { DpopProofVerifier } from '../../src/dpop/verify-proof.js';
import { andThen, isPromise, rejectingThrows } from '../../src/lib/maybe-promise.js';
import { StoreUnavailableError, type ReplayCache, type ReplayClaim } from '../../src/stores/ports.js';
import { testClock } from '../helpers/app.js';
import { defaultVerifierSettings } from '../helpers/dpop-verifier.js';

describe('answers that are there at once (src/lib/maybe-promise.ts)', () => {
  it('tells a promise, or any thenable as await would take it, from a value', () => {
    expect(isPromise(Promise.resolve(1))).toBe(true);
    expect(isPromise({ then: (resolve: (value: number) => void) => resolve(1) } as unknown as Promise<number>)).toBe(true);
    for (const value of [0, '', 'claimed', null, undefined, false, {}, { then: 'not a function' }]) expect(isPromise(value)).toBe(false);
  });

  it('fails a DPoP claim closed (503) when the replay cache answers anything but a claim, at once or later', async () => {
    const clock = testClock();
    const nonces = new DpopNonces(Buffer.from('unit-test-nonce-secret-0123456789abcdef'), 60, clock);
    const proof = { jkt: 'j'.repeat(43), jti: 'jti-1', iat: Math.floor(clock() / 1000) };
    for (const answer of ['bogus', undefined, Promise.resolve('bogus')]) {
      const replayCache: ReplayCache = { claim: () => answer as ReplayClaim };
      const verifier = new DpopProofVerifier(defaultVerifierSettings, { replayCache, nonces, clock });
      await expect(Promise.resolve().then(() => verifier.claim(proof, 'client:test'))).rejects.toBeInstanceOf(StoreUnavailableError);
    }
  });

  it('continues at once on a value, and after a promise on a promise', async () => {
    expect(andThen(2, (value) => value * 3)).toBe(6);
    const later = andThen(Promise.resolve(2), (value) => value * 3);
    expect(isPromise(later)).toBe(true);
    expect(await later).toBe(6);
    // A thenable that is no native promise (an adapter's own) comes back as a native promise.
    const thenable = { then: (resolve: (value: number) => void) => resolve(2) } as unknown as Promise<number>;
    const adopted = andThen(thenable, (value) => value + 1);
    expect(adopted).toBeInstanceOf(Promise);
    expect(await adopted).toBe(3);
  });

  it('turns a synchronous throw into a rejection, and passes values and promises through', async () => {
    const refusal = new Error('refused');
    const refused = rejectingThrows(() => {
      throw refusal;
    });
    expect(isPromise(refused)).toBe(true);
    await expect(refused).rejects.toBe(refusal);
    expect(rejectingThrows(() => 'value')).toBe('value');
    await expect(rejectingThrows(() => Promise.reject(refusal))).rejects.toBe(refusal);
  });
});
