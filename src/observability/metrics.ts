import type { FastifyRequest } from 'fastify';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClientAuthMethod } from '../oauth/client-auth.js';
import type { SigningKeys } from '../tokens/keys.js';
import { CellCounter, CellHistogram, type CounterCell, type HistogramCell } from './cells.js';
import { dpopRefusalReason, dpopRefusalReasons, reuseKind, securityEvents, type SecurityEvent } from './refusals.js';

/**
 * The provider's Prometheus metrics, one Registry per app (tests build many apps; the global
 * default registry would mix them). Label values come from fixed sets only: route templates
 * (never raw URLs), methods, statuses, reasons of the typed unions, store and operation names.
 * A client_id is never a label: anyone can name one, and each would be a series of its own.
 * Counts on the request path are cells (cells.ts): a Map lookup and a field increment.
 */

const prefix = 'dpop_oidc_';
/** From a cached token answer (~0.3 ms) to a password hash (~50 ms) and a slow store. */
const durationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const storeBuckets = [0.00001, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** iat minus server time, seconds: proofs are accepted from -maxAge (60) to +maxFuture (5). */
const skewBuckets = [-60, -30, -15, -10, -5, -2, -1, -0.5, 0, 0.5, 1, 2, 5];

const grantTypes = ['client_credentials', 'authorization_code', 'refresh_token'] as const;
const tokenTypes = ['DPoP', 'Bearer'] as const;
const clientAuthMethods: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'];

export interface MetricsSettings {
  signingKeys: SigningKeys;
  /** Live entries of the replay cache, when it can tell (memory); Redis does not count them. */
  replayCacheEntries?: (() => number) | undefined;
  /** The configured bound of the memory replay cache. */
  replayCacheCapacity?: number | undefined;
  /** The token endpoint's route: a 200 there with a token type is a token issued. */
  tokenRoute: string;
}

/** The cells one store operation updates on every call. */
export interface StoreOperationCells {
  duration: HistogramCell;
  errors: CounterCell;
}

const unmatched = 'unmatched';

let processRegistry: Registry | undefined;
/**
 * Process metrics (CPU, memory, event loop lag, GC) under their standard names, one set per
 * process: each collector starts an event-loop monitor and a GC observer that are never stopped.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class AppMetrics {
  readonly registry = new Registry();
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;

  private readonly httpRequests = new CellCounter(
    `${prefix}http_requests_total`,
    'HTTP requests answered, by route template, method and status.',
    this.registry,
  );
  private readonly httpDuration = new CellHistogram(
    `${prefix}http_request_duration_seconds`,
    'Time to answer an HTTP request, by route template.',
    durationBuckets,
    this.registry,
  );
  private readonly tokensIssued = new CellCounter(
    `${prefix}tokens_issued_total`,
    'Access tokens issued at the token endpoint, by grant type and token type.',
    this.registry,
  );
  private readonly proofRefusals = new CellCounter(
    `${prefix}dpop_proof_refusals_total`,
    'Requests refused for their DPoP proof or key binding, by reason.',
    this.registry,
  );
  private readonly nonceChallenges = new CellCounter(
    `${prefix}dpop_nonce_challenges_total`,
    'use_dpop_nonce answers: a proof without a valid server nonce, answered with a fresh DPoP-Nonce (RFC 9449 §8).',
    this.registry,
  ).cell();
  private readonly clientAuthFailures = new CellCounter(
    `${prefix}client_auth_failures_total`,
    'Failed client authentications (invalid_client), by the method the request presented.',
    this.registry,
  );
  private readonly reuse = new CellCounter(
    `${prefix}token_reuse_detected_total`,
    'Single-use credentials presented again (the grant is revoked), by kind: code, refresh_token.',
    this.registry,
  );
  private readonly signInFailures = new CellCounter(
    `${prefix}sign_in_failures_total`,
    'Sign-in forms answered with a wrong username or password.',
    this.registry,
  ).cell();
  private readonly rateLimited = new CellCounter(
    `${prefix}rate_limit_refusals_total`,
    'Requests answered 429, by route template and reason.',
    this.registry,
  );
  private readonly events = new CellCounter(
    `${prefix}security_events_total`,
    'Refusals logged at warn as security events, by event.',
    this.registry,
  );
  private readonly storeDuration = new CellHistogram(
    `${prefix}store_operation_duration_seconds`,
    'Time of each store operation, by store and operation.',
    storeBuckets,
    this.registry,
  );
  private readonly storeErrors = new CellCounter(
    `${prefix}store_errors_total`,
    'Store operations that could not answer (backend down, memory store full): requests failed closed.',
    this.registry,
  );
  private readonly skew = new CellHistogram(
    `${prefix}dpop_proof_clock_skew_seconds`,
    'iat of accepted DPoP proofs minus server time, in seconds: negative when the client clock is behind or the proof is old.',
    skewBuckets,
    this.registry,
  ).cell();

  private readonly requestCells = new Map<string, Map<string, Map<number, CounterCell>>>();
  private readonly durationCells = new Map<string, HistogramCell>();
  private readonly issuedCells = new Map<string, Map<string, CounterCell>>();
  private readonly refusalCells = new Map<string, CounterCell>();
  private readonly authFailureCells = new Map<string, CounterCell>();
  private readonly reuseCells = new Map<string, CounterCell>();
  private readonly eventCells = new Map<string, CounterCell>();
  private readonly rateLimitCells = new Map<string, Map<string, CounterCell>>();

  private readonly tokenRoute: string;

  constructor(settings: MetricsSettings) {
    this.tokenRoute = settings.tokenRoute;
    // Series that may happen are shown at 0 from the start, so that rate() sees their first increment.
    for (const grantType of grantTypes) for (const tokenType of tokenTypes) this.issuedCell(grantType, tokenType);
    for (const reason of dpopRefusalReasons) this.refusalCells.set(reason, this.proofRefusals.cell({ reason }));
    for (const method of clientAuthMethods) this.authFailureCells.set(method, this.clientAuthFailures.cell({ method }));
    for (const kind of ['code', 'refresh_token']) this.reuseCells.set(kind, this.reuse.cell({ kind }));
    for (const event of securityEvents) this.eventCells.set(event, this.events.cell({ event }));

    const keyInfo = new Gauge({
      name: `${prefix}signing_key_info`,
      help: 'Signing keys published in the JWKS (1 each): state signing for the key that signs, verification for the others.',
      labelNames: ['kid', 'alg', 'state'],
      registers: [this.registry],
    });
    for (const key of settings.signingKeys.byKid.values()) {
      keyInfo.set({ kid: key.kid, alg: key.alg, state: key === settings.signingKeys.current ? 'signing' : 'verification' }, 1);
    }
    const { replayCacheEntries, replayCacheCapacity } = settings;
    if (replayCacheEntries) {
      new Gauge({
        name: `${prefix}replay_cache_entries`,
        help: 'Live entries of the in-memory replay cache (DPoP proofs and client assertions); when it is full, requests fail closed.',
        registers: [this.registry],
        collect() {
          this.set(replayCacheEntries());
        },
      });
    }
    if (replayCacheCapacity !== undefined) {
      new Gauge({
        name: `${prefix}replay_cache_capacity`,
        help: 'Bound of the in-memory replay cache, in entries.',
        registers: [this.registry],
      }).set(replayCacheCapacity);
    }
  }

  /**
   * One call per response, with what the handlers noted on the request (request-facts.ts):
   * every count the request moves. `route` is the template, undefined when none matched.
   */
  recordRequest(
    request: FastifyRequest,
    route: string | undefined,
    status: number,
    elapsedMs: number,
    event: SecurityEvent | undefined,
  ): void {
    const routeLabel = route ?? unmatched;
    this.requestCell(routeLabel, request.method, status).inc();
    this.durationCell(routeLabel).observe(elapsedMs / 1000);
    if (status === 200 && route === this.tokenRoute && request.grantType !== undefined && request.tokenType !== undefined) {
      this.issuedCell(request.grantType, request.tokenType).inc();
    }
    if (request.refusalReason === 'login_failed') this.signInFailures.inc();
    if (event) this.eventCells.get(event)!.inc();
    const refusal = request.oauthError;
    if (status === 429) this.rateLimitCell(routeLabel, refusal?.reason ?? 'unspecified').inc();
    if (!refusal) return;
    const dpopReason = dpopRefusalReason(refusal);
    if (dpopReason) this.refusalCells.get(dpopReason)!.inc();
    if (refusal.code === 'use_dpop_nonce') this.nonceChallenges.inc();
    if (refusal.code === 'invalid_client') this.authFailureCells.get(request.clientAuthMethod ?? 'none')!.inc();
    const reused = reuseKind(refusal);
    if (reused) this.reuseCells.get(reused)!.inc();
  }

  /** Given to the DPoP verifier: called with iat minus now for every proof it accepts. */
  readonly observeProofSkew = (seconds: number): void => this.skew.observe(seconds);

  /** The cells of one store operation, made once when the store is wrapped. */
  storeOperation(store: string, operation: string): StoreOperationCells {
    const labels = { store, operation };
    return { duration: this.storeDuration.cell(labels), errors: this.storeErrors.cell(labels) };
  }

  /** The exposition text: process metrics, then the provider's. */
  async render(): Promise<string> {
    return (await processMetrics().metrics()) + (await this.registry.metrics());
  }

  private requestCell(route: string, method: string, status: number): CounterCell {
    let byMethod = this.requestCells.get(route);
    if (!byMethod) this.requestCells.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let cell = byStatus.get(status);
    if (!cell) byStatus.set(status, (cell = this.httpRequests.cell({ route, method, status: String(status) })));
    return cell;
  }

  private durationCell(route: string): HistogramCell {
    let cell = this.durationCells.get(route);
    if (!cell) this.durationCells.set(route, (cell = this.httpDuration.cell({ route })));
    return cell;
  }

  private issuedCell(grantType: string, tokenType: string): CounterCell {
    let byType = this.issuedCells.get(grantType);
    if (!byType) this.issuedCells.set(grantType, (byType = new Map()));
    let cell = byType.get(tokenType);
    if (!cell) byType.set(tokenType, (cell = this.tokensIssued.cell({ grant_type: grantType, token_type: tokenType })));
    return cell;
  }

  private rateLimitCell(route: string, reason: string): CounterCell {
    let byReason = this.rateLimitCells.get(route);
    if (!byReason) this.rateLimitCells.set(route, (byReason = new Map()));
    let cell = byReason.get(reason);
    if (!cell) byReason.set(reason, (cell = this.rateLimited.cell({ route, reason })));
    return cell;
  }
}
