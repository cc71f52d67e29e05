import { createHmac } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import { constantTimeEqual } from '../lib/constant-time.js';

/**
 * Stateless DPoP nonces (RFC 9449 §8, §9): `<step>.<mac>` where the MAC covers the purpose,
 * the time step and the proof key's thumbprint. Every instance with the same secret accepts
 * every other's nonces, with no storage. A nonce is valid in its step and the next one.
 * The purpose separates authorization-server nonces from resource-server nonces (§9: a
 * nonce is only valid where it was issued). Output is base64url and ".", within NQCHAR (§8.1).
 */
export type NoncePurpose = 'token' | 'resource';

/**
 * The MAC secrets: `current` makes and verifies nonces; `previous`, when set, only verifies.
 * After a rotation, nonces made with the secret before (by this instance in its last steps,
 * or by an instance not yet reloaded) are still accepted: one rotation back, no further.
 */
export interface NonceSecrets {
  current: Buffer;
  previous?: Buffer | undefined;
}

export class DpopNonces {
  private readonly stepMs: number;
  private secrets: NonceSecrets;

  constructor(
    secrets: Buffer | NonceSecrets,
    stepSeconds: number,
    private readonly clock: Clock,
  ) {
    this.secrets = Buffer.isBuffer(secrets) ? { current: secrets } : secrets;
    this.stepMs = stepSeconds * 1000;
  }

  /** The secrets in use: the interaction cookie's key derives from them, and follows a reload. */
  get currentSecrets(): NonceSecrets {
    return this.secrets;
  }

  /** Takes reloaded secrets (SIGHUP); the next nonce issued uses the new current one. */
  useSecrets(secrets: NonceSecrets): void {
    this.secrets = secrets;
  }

  issue(purpose: NoncePurpose, jkt: string): string {
    return this.nonceFor(purpose, Math.floor(this.clock() / this.stepMs), jkt, this.secrets.current);
  }

  /**
   * True when `nonce` is exactly the nonce issued for this purpose and key in the current or
   * previous step. Compared as a string, not as decoded bytes: Node's base64url decoder drops
   * unknown characters and ignores the spare bits of the last one, and parseInt ignores leading
   * zeros, so a byte comparison would accept variants that do not "exactly match" (§8).
   */
  verify(purpose: NoncePurpose, jkt: string, nonce: string): boolean {
    const dot = nonce.indexOf('.');
    if (dot < 1 || dot > 12) return false;
    const stepText = nonce.slice(0, dot);
    if (!/^[0-9a-z]+$/.test(stepText)) return false;
    const step = Number.parseInt(stepText, 36);
    const current = Math.floor(this.clock() / this.stepMs);
    if (step !== current && step !== current - 1) return false;
    const { current: secret, previous } = this.secrets;
    if (constantTimeEqual(nonce, this.nonceFor(purpose, step, jkt, secret))) return true;
    return previous !== undefined && constantTimeEqual(nonce, this.nonceFor(purpose, step, jkt, previous));
  }

  private nonceFor(purpose: NoncePurpose, step: number, jkt: string, secret: Buffer): string {
    return `${step.toString(36)}.${createHmac('sha256', secret).update(`${purpose}\n${step}\n${jkt}`).digest().toString('base64url')}`;
  }
}
