import { isPromise, type MaybePromise } from '../lib/maybe-promise.js';
import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt } from 'jose';
import { decoySecretHash, verifySecret } from '../users/secret-hash.js';
import { jwtBearerAssertionType, verifyClientAssertion, type ClientAssertionDeps } from './client-assertion.js';
import type { ClientAuthAttempt, ClientAuthLimiter } from './client-auth-limiter.js';
import type { Client, ClientRegistry } from './clients.js';
import { OAuthError } from '../lib/oauth-error.js';

/**
 * Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3):
 * client_secret_basic, client_secret_post, private_key_jwt (RFC 7523), or none (a public client
 * names itself with client_id). A client must use the method it registered, and only one
 * method per request.
 *
 * A caller must not learn whether a client exists: an unknown client, a wrong secret, a wrong
 * assertion and a client registered with another method all get the same answer (one
 * description, a Basic challenge only when Basic was sent) after the same work (a secret is
 * checked against a decoy hash, an assertion against a decoy key). Failures are throttled
 * (client-auth-limiter.ts).
 */
export interface ClientCredentialsInput {
  authorization?: string | undefined;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  clientAssertion?: string | undefined;
  clientAssertionType?: string | undefined;
  /** The caller's address, for counting failures. */
  address?: string | undefined;
}

/** The checks that cost work; tests may wrap the real ones to see which hash or key was used. */
export interface CredentialVerifiers {
  secret: (secret: string, encodedHash: string) => MaybePromise<boolean>;
  assertion: (assertion: string, client: Client, deps: ClientAssertionDeps) => Promise<void>;
}

export interface ClientAuthDeps {
  clients: ClientRegistry;
  /** For private_key_jwt client authentication. */
  assertions?: ClientAssertionDeps | undefined;
  clientAuthLimiter?: ClientAuthLimiter | undefined;
  verifiers?: CredentialVerifiers | undefined;
}

const realVerifiers: CredentialVerifiers = { secret: verifySecret, assertion: verifyClientAssertion };

/**
 * Stands in for an unknown client presenting an assertion: a P-256 public key whose private
 * half is discarded, so the signature check runs and cannot pass.
 */
export const decoyAssertionClient: Client = {
  client_id: 'decoy',
  token_endpoint_auth_method: 'private_key_jwt',
  jwks: { keys: [{ ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }), alg: 'ES256' }] },
  grant_types: [],
  scope: '',
  scopes: new Set(),
  dpop_bound_access_tokens: false,
  dpop_require_nonce: false,
  introspection_allowed: false,
  redirect_uris: [],
  post_logout_redirect_uris: [],
  first_party: false,
};

/** The credentials of a form request: the Authorization header and the body parameters. */
export function clientCredentialsFrom(
  params: Readonly<Record<string, string | undefined>>,
  authorization: string | undefined,
  address?: string,
): ClientCredentialsInput {
  return {
    authorization,
    clientId: params.client_id,
    clientSecret: params.client_secret,
    clientAssertion: params.client_assertion,
    clientAssertionType: params.client_assertion_type,
    address,
  };
}

type PresentedCredentials =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; secret: string }
  | { method: 'private_key_jwt'; clientId: string; assertion: string }
  | { method: 'none'; clientId: string };

export type ClientAuthMethod = PresentedCredentials['method'];

/**
 * The method and client_id a request presents, unverified, for logs and metrics: the same
 * answer whether the client exists or not. Malformed credentials keep the method their shape
 * names and the body's client_id.
 */
export function presentedClient(input: ClientCredentialsInput): { method: ClientAuthMethod; clientId: string | undefined } {
  const method: ClientAuthMethod =
    input.clientAssertion !== undefined || input.clientAssertionType !== undefined
      ? 'private_key_jwt'
      : input.authorization !== undefined && /^basic /i.test(input.authorization)
        ? 'client_secret_basic'
        : input.clientSecret !== undefined
          ? 'client_secret_post'
          : 'none';
  try {
    return { method, clientId: presentedCredentials(input).clientId || undefined };
  } catch {
    return { method, clientId: input.clientId };
  }
}

const failedDescription = 'client authentication failed';

/** The edge challenges with Basic when the request used Basic (RFC 6749 §5.2), whatever the client registered. */
function invalidClient(description: string, cause?: string): OAuthError {
  return new OAuthError('invalid_client', description, {
    reason: 'client_auth',
    ...(cause ? { logDetail: { cause } } : {}),
  });
}

function oneMethodOnly(): OAuthError {
  return new OAuthError('invalid_request', 'use only one client authentication method', { reason: 'client_auth' });
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before Base64 in the Basic header. */
function parseBasic(authorization: string): { clientId: string; clientSecret: string } {
  const encoded = authorization.slice(6).trim();
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (!/^[A-Za-z0-9+/]+=*$/.test(encoded) || colon < 0) {
    throw invalidClient('malformed Basic authorization header');
  }
  try {
    const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
    return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw invalidClient('malformed Basic authorization header');
  }
}

function presentedAssertion(input: ClientCredentialsInput): PresentedCredentials {
  if (input.clientAssertionType !== jwtBearerAssertionType) {
    throw new OAuthError('invalid_request', `client_assertion_type must be ${jwtBearerAssertionType}`, { reason: 'client_auth' });
  }
  const assertion = input.clientAssertion;
  if (!assertion) throw new OAuthError('invalid_request', 'client_assertion is required', { reason: 'client_auth' });
  // The unverified sub only picks the client whose keys then verify the whole assertion.
  let subject: unknown;
  try {
    subject = decodeJwt(assertion).sub;
  } catch {
    throw invalidClient('client assertion is malformed');
  }
  const clientId = input.clientId ?? (typeof subject === 'string' ? subject : undefined);
  if (!clientId || (input.clientId !== undefined && subject !== input.clientId)) {
    throw invalidClient('client assertion does not name the client');
  }
  return { method: 'private_key_jwt', clientId, assertion };
}

/** What the request presents, checked for shape only: nothing here depends on the registered clients. */
function presentedCredentials(input: ClientCredentialsInput): PresentedCredentials {
  const basic = input.authorization !== undefined && /^basic /i.test(input.authorization);
  if (input.clientAssertion !== undefined || input.clientAssertionType !== undefined) {
    if (basic || input.clientSecret !== undefined) throw oneMethodOnly();
    return presentedAssertion(input);
  }
  let credentials: PresentedCredentials;
  if (basic) {
    if (input.clientSecret !== undefined) throw oneMethodOnly();
    const { clientId, clientSecret } = parseBasic(input.authorization!);
    if (input.clientId !== undefined && input.clientId !== clientId) {
      throw new OAuthError('invalid_request', 'client_id does not match the authenticated client', { reason: 'client_auth' });
    }
    credentials = { method: 'client_secret_basic', clientId, secret: clientSecret };
  } else if (input.clientSecret !== undefined) {
    credentials = { method: 'client_secret_post', clientId: input.clientId ?? '', secret: input.clientSecret };
  } else {
    credentials = { method: 'none', clientId: input.clientId ?? '' };
  }
  if (!credentials.clientId) throw invalidClient('client authentication is required');
  return credentials;
}

/** The client the credentials prove; at once for a secret hashed with sha256 (src/lib/maybe-promise.ts). */
function verifyCredentials(credentials: PresentedCredentials, deps: ClientAuthDeps): MaybePromise<Client> {
  const verifiers = deps.verifiers ?? realVerifiers;
  const found = deps.clients.find(credentials.clientId);
  // A client registered with another method is treated as unknown, with the same work.
  const client = found?.token_endpoint_auth_method === credentials.method ? found : undefined;
  const cause = !found ? 'unknown_client' : !client ? `registered_for_${found.token_endpoint_auth_method}` : undefined;
  switch (credentials.method) {
    case 'client_secret_basic':
    case 'client_secret_post': {
      const settle = (matches: boolean): Client => {
        if (!client || !matches) throw invalidClient(failedDescription, cause ?? 'secret_mismatch');
        return client;
      };
      const matches = verifiers.secret(credentials.secret, client?.client_secret_hash ?? decoySecretHash);
      return isPromise(matches) ? matches.then(settle) : settle(matches);
    }
    case 'private_key_jwt':
      return verifyAssertionCredentials(credentials, client, cause, deps);
    case 'none':
      if (!client) throw invalidClient(failedDescription, cause);
      return client;
  }
}

async function verifyAssertionCredentials(
  credentials: Extract<PresentedCredentials, { method: 'private_key_jwt' }>,
  client: Client | undefined,
  cause: string | undefined,
  deps: ClientAuthDeps,
): Promise<Client> {
  const verifiers = deps.verifiers ?? realVerifiers;
  if (!client || !deps.assertions) {
    if (deps.assertions) await verifiers.assertion(credentials.assertion, decoyAssertionClient, deps.assertions).catch(() => undefined);
    throw invalidClient(failedDescription, cause ?? 'assertions_disabled');
  }
  await verifiers.assertion(credentials.assertion, client, deps.assertions);
  return client;
}

/**
 * The authenticated client, at once when every step answers at once (an in-memory limiter, a
 * sha256 secret: src/lib/maybe-promise.ts); a refusal is always a rejected promise.
 */
export function authenticateClient(input: ClientCredentialsInput, deps: ClientAuthDeps): MaybePromise<Client> {
  let credentials: PresentedCredentials | undefined;
  let malformed: unknown;
  try {
    credentials = presentedCredentials(input);
  } catch (error) {
    malformed = error;
  }
  const attempt: ClientAuthAttempt = {
    secretClientId: credentials && 'secret' in credentials ? credentials.clientId : undefined,
    address: input.address,
  };
  // Refused before any check while blocked, so a blocked caller learns nothing, not even from a right secret.
  let allowed: MaybePromise<void>;
  try {
    allowed = deps.clientAuthLimiter?.assertAllowed(attempt);
  } catch (error) {
    return Promise.reject(error);
  }
  const verify = (): MaybePromise<Client> => {
    let verified: MaybePromise<Client>;
    try {
      if (!credentials) throw malformed;
      verified = verifyCredentials(credentials, deps);
    } catch (error) {
      return refused(error, attempt, deps);
    }
    return isPromise(verified) ? verified.catch((error: unknown) => refused(error, attempt, deps)) : verified;
  };
  return isPromise(allowed) ? allowed.then(verify) : verify();
}

/** A failed authentication counts against the limits, then rejects with the refusal. */
async function refused(error: unknown, attempt: ClientAuthAttempt, deps: ClientAuthDeps): Promise<never> {
  if (error instanceof OAuthError && error.code === 'invalid_client') await deps.clientAuthLimiter?.recordFailure(attempt);
  throw error;
}
