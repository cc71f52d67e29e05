import { hash, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { OAuthError, tooManyRequests } from '../lib/oauth-error.js';
import type { DpopFailureReason } from '../lib/refusal-reason.js';
import type { Clock } from '../lib/clock.js';
import { StoreUnavailableError, type ReplayCache, type ReplayClaim } from '../stores/ports.js';
import { isPromise, type MaybePromise } from '../lib/maybe-promise.js';
import { normalizeHtu } from './htu.js';
import type { DpopNonces, NoncePurpose } from './nonce.js';
import { accessTokenHash, jwkThumbprint } from './thumbprint.js';
import { constantTimeEqual } from '../lib/constant-time.js';
import { isObject, token68 } from '../lib/syntax.js';
import {
  assertNoCriticalExtensions,
  decodeBase64urlSegment,
  decodeCompactJws,
  publicKeyForAlgorithm,
  verifyJwsSignature,
  type DecodedJws,
} from '../lib/jws-verify.js';

/** Every check of RFC 9449 §4.3, in one place, used by every route that takes a proof. */

export interface DpopVerifierSettings {
  algorithms: readonly string[];
  maxAgeSeconds: number;
  maxFutureSeconds: number;
  jtiMaxLength: number;
  keyCacheMaxEntries: number;
  /**
   * Proofs whose `iat` is before the second of this instant (ms) are refused: set at start-up
   * when the replay cache lives in memory, which forgets on restart the proofs it saw before.
   * Whole seconds, since clients write `iat` as whole seconds.
   */
  notBeforeMs?: number | undefined;
}

export interface DpopVerifierDeps {
  replayCache: ReplayCache;
  nonces: DpopNonces;
  clock: Clock;
  /** Told `iat` minus server time (seconds) of every proof accepted, so that operators see clients whose clocks are off. */
  observeProofSkew?: ((seconds: number) => void) | undefined;
}

export interface DpopProofRequest {
  /** The single `DPoP` header value (see `singleDpopHeader`). */
  proof: string;
  /** HTTP method of the request. */
  method: string;
  /** The URL the proof must name, built from the configured issuer, already normalised. */
  expectedHtu: string;
  /** Where the nonce would have come from: the token endpoint or a protected resource. */
  noncePurpose: NoncePurpose;
  requireNonce: boolean;
  /** At a protected resource: the access token, whose hash the proof must carry in `ath`. */
  accessToken?: string;
}

/**
 * A proof that passed every check but the replay check. It is claimed (`DpopProofVerifier.claim`)
 * only once the request has passed every check an unauthenticated caller can fail, so that
 * junk requests with fresh proofs cannot fill the replay cache (RFC 9449 §11.1).
 */
export interface VerifiedDpopProof {
  /** RFC 7638 thumbprint of the proof key. */
  jkt: string;
  jti: string;
  iat: number;
}

/** A proof is small; anything far larger is refused before parsing. */
const maxProofLength = 8192;
/** Header segments cached at most: 1 000 entries of 2 KB (dpop.keyCacheMaxEntries) whatever callers send. */
const maxCachedHeaderLength = 2048;
const privateJwkMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

function invalidProof(reason: DpopFailureReason, description: string, logDetail?: Record<string, unknown>): OAuthError {
  return new OAuthError('invalid_dpop_proof', description, { reason, logDetail });
}

/**
 * §4.3 check 1: not more than one DPoP header field. `values` are all the field values the
 * request carried; a proxy may have joined two fields with ", ", which no JWT contains.
 * Returns undefined when there is none.
 */
export function singleDpopHeader(values: readonly string[]): string | undefined {
  if (values.length === 0) return undefined;
  if (values.length > 1 || values[0]!.includes(',')) {
    throw invalidProof('multiple', 'more than one DPoP header');
  }
  return values[0]!.trim();
}

export class DpopProofVerifier {
  /**
   * Headers that passed every header check, by their base64url segment, with the imported key
   * and its thumbprint: importing costs more than verifying. Bounded; the oldest goes first.
   */
  private readonly headerCache = new Map<string, CheckedHeader>();
  private readonly algorithms: ReadonlySet<string>;

  constructor(
    private readonly settings: DpopVerifierSettings,
    private readonly deps: DpopVerifierDeps,
  ) {
    this.algorithms = new Set(settings.algorithms);
  }

  /** Synchronous: every check is in memory (the replay check, which is not, is `claim`). Throws OAuthError. */
  verify(request: DpopProofRequest): VerifiedDpopProof {
    const { proof } = request;
    // §4.3 check 2: a single well-formed JWT.
    if (proof.length === 0 || proof.length > maxProofLength || !token68.test(proof) || proof.split('.').length !== 3) {
      throw invalidProof('malformed', 'DPoP proof is not a well-formed JWT');
    }
    // The header is decoded and checked once per distinct header: a client sends the same
    // header ({typ, alg, jwk}) with every proof, and every header check is a function of its bytes.
    const { alg, jkt, key, signingInput, payloadSegment, signatureSegment } = this.checkHeader(proof);

    // Check 6: the signature verifies with the jwk. A payload that is not base64url fails here,
    // as it did in jose's compactVerify.
    let payloadBytes: Buffer;
    try {
      if (!verifyJwsSignature(alg, key, signingInput, signatureSegment)) throw new Error('signature');
      payloadBytes = decodeBase64urlSegment(payloadSegment);
    } catch {
      throw invalidProof('signature', 'DPoP proof signature is invalid');
    }
    let claims: unknown;
    try {
      claims = JSON.parse(payloadBytes.toString('utf8'));
    } catch {
      throw invalidProof('malformed', 'DPoP proof payload is not JSON');
    }
    if (!isObject(claims)) throw invalidProof('malformed', 'DPoP proof payload is not a JSON object');

    // Check 3: required claims, well typed.
    const { jti, htm, htu, iat } = claims;
    if (typeof jti !== 'string' || jti.length === 0) throw invalidProof('jti', 'DPoP proof jti is missing');
    if (jti.length > this.settings.jtiMaxLength) throw invalidProof('jti', 'DPoP proof jti is too long');
    if (typeof htm !== 'string') throw invalidProof('htm', 'DPoP proof htm is missing');
    if (typeof htu !== 'string') throw invalidProof('htu', 'DPoP proof htu is missing');
    // A fractional iat (e.g. 1659156608.74) is a legal NumericDate.
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalidProof('iat', 'DPoP proof iat is missing');

    // Check 8: htm.
    if (htm !== request.method) {
      throw invalidProof('htm', 'DPoP proof htm does not match the request method', { expected: request.method, received: htm });
    }
    // Check 9: htu, normalised, without query and fragment. The expected URL is normalised
    // already, and normalising is idempotent: an htu equal to it needs no parsing.
    if (htu !== request.expectedHtu && normalizeHtu(htu) !== request.expectedHtu) {
      // The expected URL is public (the issuer's own endpoint) and names the usual mistake: a
      // proxy in front whose public URL is not the configured issuer.
      throw invalidProof('htu', `DPoP proof htu does not match the request URL; expected ${request.expectedHtu}`, {
        expected: request.expectedHtu,
        received: htu, // bounded where it is logged (src/http/error-handler.ts)
      });
    }
    // Check 11: created recently (§11.1).
    const nowMs = this.deps.clock();
    const nowSeconds = nowMs / 1000;
    if (iat < nowSeconds - this.settings.maxAgeSeconds || iat > nowSeconds + this.settings.maxFutureSeconds) {
      // The server time lets a client see its own clock skew.
      throw invalidProof('iat', `DPoP proof iat is outside the acceptance window; server time is ${Math.floor(nowSeconds)}`, {
        iat,
        now: Math.floor(nowSeconds),
      });
    }
    if (this.settings.notBeforeMs !== undefined && iat < Math.floor(this.settings.notBeforeMs / 1000)) {
      throw invalidProof('iat', 'DPoP proof was made before the server started; make a new one', {
        iat,
        startedAt: Math.floor(this.settings.notBeforeMs / 1000),
      });
    }
    // Check 10 and §11.3: a nonce, once required, must be there and be ours; a nonce given
    // when not required must still be valid.
    const { nonce } = claims;
    if (nonce !== undefined || request.requireNonce) {
      const valid = typeof nonce === 'string' && this.deps.nonces.verify(request.noncePurpose, jkt, nonce);
      if (!valid) {
        throw new OAuthError(
          'use_dpop_nonce',
          nonce === undefined ? 'Authorization server requires nonce in DPoP proof' : 'DPoP proof nonce is invalid or stale',
          { reason: 'nonce', dpopNonce: this.deps.nonces.issue(request.noncePurpose, jkt) },
        );
      }
    }
    // Check 12: ath binds the proof to the access token it travels with.
    if (request.accessToken !== undefined) {
      const { ath } = claims;
      if (typeof ath !== 'string' || !constantTimeEqual(ath, accessTokenHash(request.accessToken))) {
        throw invalidProof('ath', 'DPoP proof ath does not match the access token');
      }
    }
    return { jkt, jti, iat };
  }

  /**
   * The replay check (§4.3 check 11, §11.1): each (key, jti) is accepted once in the window,
   * charged to `owner`, the credential the request has proved (see ReplayCache.claim).
   */
  claim(proof: VerifiedDpopProof, owner: string): MaybePromise<void> {
    // The entry must outlive the last millisecond at which this proof still passes the iat check
    // (iat + maxAge, inclusive): an entry that expired at that instant would let the proof replay.
    // Rounded up, with a millisecond to spare, so that float error in a fractional iat cannot shorten it.
    const replayKey = hash('sha256', `${proof.jkt}\n${proof.jti}`, 'base64url');
    const acceptableUntilMs = (proof.iat + this.settings.maxAgeSeconds) * 1000;
    const nowMs = this.deps.clock();
    const ttlMs = Math.ceil(acceptableUntilMs) + 1 - nowMs;
    const claimed = this.deps.replayCache.claim(replayKey, ttlMs, owner);
    // A memory cache answers at once: no await, so the request goes on without yielding (src/lib/maybe-promise.ts).
    if (isPromise(claimed)) return claimed.then((result) => this.settle(proof, result, nowMs));
    this.settle(proof, claimed, nowMs);
  }

  private settle(proof: VerifiedDpopProof, claimed: ReplayClaim, nowMs: number): void {
    if (claimed === 'replayed') throw invalidProof('replay', 'DPoP proof has already been used');
    if (claimed === 'owner_limit') {
      throw tooManyRequests('too many DPoP proofs for this credential; slow down', 'replay_quota', this.settings.maxAgeSeconds);
    }
    // Anything but a claim fails closed (503), never lets the proof through.
    if (claimed !== 'claimed') throw new StoreUnavailableError('replay cache gave no answer');
    this.deps.observeProofSkew?.(proof.iat - nowMs / 1000);
  }

  /**
   * §4.3 checks 2 (the header part), 4, 5 and 7, and the key: a header already checked is taken
   * from the cache. Refusals come in the order of the checks, as before the cache.
   */
  private checkHeader(proof: string): CheckedHeader & { signingInput: string; payloadSegment: string; signatureSegment: string } {
    const firstDot = proof.indexOf('.');
    const segment = proof.slice(0, firstDot);
    const cached = this.headerCache.get(segment);
    if (cached) {
      const secondDot = proof.indexOf('.', firstDot + 1);
      return {
        ...cached,
        signingInput: proof.slice(0, secondDot),
        payloadSegment: proof.slice(firstDot + 1, secondDot),
        signatureSegment: proof.slice(secondDot + 1),
      };
    }
    let decoded: DecodedJws;
    try {
      decoded = decodeCompactJws(proof);
    } catch {
      throw invalidProof('malformed', 'DPoP proof header cannot be decoded');
    }
    const { header } = decoded;
    // Checks 4 and 5: typ (§11.5, against JWT swapping) and an allowed asymmetric alg (§11.6).
    if (header.typ !== 'dpop+jwt') throw invalidProof('typ', 'DPoP proof typ must be dpop+jwt');
    const alg = header.alg;
    if (typeof alg !== 'string' || !this.algorithms.has(alg)) {
      throw invalidProof('alg', 'DPoP proof alg is not supported');
    }
    const jwk = header.jwk;
    // Check 7: the jwk is a public key.
    if (!isObject(jwk) || jwk.kty === 'oct' || privateJwkMembers.some((member) => member in jwk)) {
      throw invalidProof('jwk', 'DPoP proof jwk must be a public key');
    }
    let jkt: string;
    try {
      jkt = jwkThumbprint(jwk as JWK);
    } catch {
      throw invalidProof('jwk', 'DPoP proof jwk is not a valid key');
    }
    let key: KeyObject;
    try {
      key = publicKeyForAlgorithm(jwk, alg);
    } catch {
      throw invalidProof('jwk', 'DPoP proof jwk does not fit its alg');
    }
    // An unsupported critical extension fails as a bad signature, as it did in jose's compactVerify.
    try {
      assertNoCriticalExtensions(header);
    } catch {
      throw invalidProof('signature', 'DPoP proof signature is invalid');
    }
    const checked: CheckedHeader = { alg, jkt, key };
    // Headers of RSA keys up to 4096 bits fit; a longer one (padded with members) is checked each time.
    if (segment.length > maxCachedHeaderLength) return { ...checked, ...decoded };
    if (this.headerCache.size >= this.settings.keyCacheMaxEntries) {
      this.headerCache.delete(this.headerCache.keys().next().value!);
    }
    this.headerCache.set(segment, checked);
    return {
      ...checked,
      signingInput: decoded.signingInput,
      payloadSegment: decoded.payloadSegment,
      signatureSegment: decoded.signatureSegment,
    };
  }
}

interface CheckedHeader {
  alg: string;
  /** RFC 7638 thumbprint of the proof key. */
  jkt: string;
  key: KeyObject;
}
