import type { VerifiedDpopProof } from '../../dpop/verify-proof.js';
import type { Client } from '../clients.js';
import type { MaybePromise } from '../../lib/maybe-promise.js';

/** What every grant handler receives: an authenticated client and, when sent, a verified proof. */
export interface GrantRequest {
  client: Client;
  params: Readonly<Record<string, string | undefined>>;
  /** The verified DPoP proof: the issued access token is bound to its key. */
  dpop: VerifiedDpopProof | undefined;
  /**
   * The proof's replay check (RFC 9449 §11.1), charged to `grantId` for a public client (to the
   * client itself otherwise). A grant calls it once its lookups have passed and before it writes
   * anything, so that requests with a bogus code or refresh token never fill the replay cache;
   * it does nothing when no proof was sent. It answers at once when the replay cache does
   * (src/lib/maybe-promise.ts); a refusal is thrown or rejected.
   */
  claimProof: (grantId?: string) => MaybePromise<void>;
}

/** RFC 6749 §5.1 successful response. */
export interface TokenResponse {
  access_token: string;
  token_type: 'DPoP' | 'Bearer';
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
}

/** A grant may answer at once (client_credentials on memory stores); a refusal always rejects. */
export type GrantHandler = (request: GrantRequest) => MaybePromise<TokenResponse>;
