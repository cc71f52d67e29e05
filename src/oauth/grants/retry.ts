import type { VerifiedDpopProof } from '../../dpop/verify-proof.js';
import type { Client } from '../clients.js';

/**
 * Whether a spent credential (a rotated refresh token, a redeemed code) presented again is its
 * holder's retry, to be answered again, rather than reuse, which revokes the grant (RFC 9700
 * §4.14, RFC 6749 §4.1.2). A response lost to a timeout or a double submit must not sign the user
 * out (FAPI 2.0 asks the same of rotation); a thief must not be answered. So: only within the
 * grace, and only from the same holder: the same authenticated confidential client, or for a
 * public client a proof by the key the spent credential's answer was bound to. A public client
 * without DPoP has nothing that tells its retry from a thief: no grace.
 */
export function isHolderRetry(
  spent: { atMs: number; jkt: string | undefined },
  request: { client: Client; dpop: VerifiedDpopProof | undefined },
  now: number,
  graceMs: number,
): boolean {
  if (now >= spent.atMs + graceMs) return false;
  if (request.client.token_endpoint_auth_method !== 'none') return true;
  return spent.jkt !== undefined && request.dpop?.jkt === spent.jkt;
}
