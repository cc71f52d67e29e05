import { createHmac } from 'node:crypto';
import type { Clock } from '../stores/ports.js';
import { constantTimeEqual } from '../lib/constant-time.js';

/**
 * Stateless DPoP nonces (RFC 9449 §8, §9): `<step>.<mac>` where the MAC covers the purpose,
 * the time step and the proof key's thumbprint. Every instance with the same secret accepts
 * every other's nonces, with no storage. A nonce is valid in its step and the next one.
 * The purpose separates authorization-server nonces from resource-server nonces (§9: a
 * nonce is only valid where it was issued). Output is base64url and ".", within NQCHAR (§8.1).
 */
export type NoncePurpose = 'token' | 'resource';

export class DpopNonces {
  private readonly stepMs: number;

  constructor(
    private readonly secret: Buffer,
    stepSeconds: number,
    private readonly clock: Clock,
  ) {
    this.stepMs = stepSeconds * 1000;
  }

  issue(purpose: NoncePurpose, jkt: string): string {
    return this.nonceFor(purpose, Math.floor(this.clock() / this.stepMs), jkt);
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
    return constantTimeEqual(nonce, this.nonceFor(purpose, step, jkt));
  }

  private nonceFor(purpose: NoncePurpose, step: number, jkt: string): string {
    return `${step.toString(36)}.${this.mac(purpose, step, jkt).toString('base64url')}`;
  }

  private mac(purpose: NoncePurpose, step: number, jkt: string): Buffer {
    return createHmac('sha256', this.secret).update(`${purpose}\n${step}\n${jkt}`).digest();
  }
}
