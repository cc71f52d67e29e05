import { decodeJwt } from 'jose';
import { decoySecretHash, verifySecret } from '../users/secret-hash.js';
import { jwtBearerAssertionType, verifyClientAssertion, type ClientAssertionDeps } from './client-assertion.js';
import type { Client, ClientRegistry } from './clients.js';
import { OAuthError } from './errors.js';

/**
 * Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3):
 * client_secret_basic, client_secret_post, private_key_jwt (RFC 7523), or none (a public client
 * names itself with client_id). A client must use the method it registered, and only one
 * method per request.
 */
export interface ClientCredentialsInput {
  authorization?: string | undefined;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  clientAssertion?: string | undefined;
  clientAssertionType?: string | undefined;
}

/** The credentials of a form request: the Authorization header and the body parameters. */
export function clientCredentialsFrom(params: Readonly<Record<string, string | undefined>>, authorization: string | undefined): ClientCredentialsInput {
  return {
    authorization,
    clientId: params.client_id,
    clientSecret: params.client_secret,
    clientAssertion: params.client_assertion,
    clientAssertionType: params.client_assertion_type,
  };
}

function invalidClient(description: string, basic: boolean): OAuthError {
  return new OAuthError('invalid_client', description, { reason: 'client_auth', basicChallenge: basic });
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before Base64 in the Basic header. */
function parseBasic(authorization: string): { clientId: string; clientSecret: string } {
  const encoded = authorization.slice(6).trim();
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (!/^[A-Za-z0-9+/]+=*$/.test(encoded) || colon < 0) {
    throw invalidClient('malformed Basic authorization header', true);
  }
  try {
    const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
    return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw invalidClient('malformed Basic authorization header', true);
  }
}

async function authenticateWithAssertion(
  input: ClientCredentialsInput,
  clients: ClientRegistry,
  assertions: ClientAssertionDeps | undefined,
): Promise<Client> {
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
    throw invalidClient('client assertion is malformed', false);
  }
  const clientId = input.clientId ?? (typeof subject === 'string' ? subject : undefined);
  if (!clientId || (input.clientId !== undefined && subject !== input.clientId)) {
    throw invalidClient('client assertion does not name the client', false);
  }
  const client = clients.find(clientId);
  if (!client || client.token_endpoint_auth_method !== 'private_key_jwt' || !assertions) {
    throw invalidClient('client authentication failed', false);
  }
  await verifyClientAssertion(assertion, client, assertions);
  return client;
}

export async function authenticateClient(
  input: ClientCredentialsInput,
  clients: ClientRegistry,
  assertions?: ClientAssertionDeps,
): Promise<Client> {
  const basic = input.authorization !== undefined && /^basic /i.test(input.authorization);
  if (input.clientAssertion !== undefined || input.clientAssertionType !== undefined) {
    if (basic || input.clientSecret !== undefined) {
      throw new OAuthError('invalid_request', 'use only one client authentication method', { reason: 'client_auth' });
    }
    return authenticateWithAssertion(input, clients, assertions);
  }
  let method: Client['token_endpoint_auth_method'];
  let clientId: string | undefined;
  let secret: string | undefined;
  if (basic) {
    if (input.clientSecret !== undefined) {
      throw new OAuthError('invalid_request', 'use only one client authentication method', { reason: 'client_auth' });
    }
    ({ clientId, clientSecret: secret } = parseBasic(input.authorization!));
    if (input.clientId !== undefined && input.clientId !== clientId) {
      throw new OAuthError('invalid_request', 'client_id does not match the authenticated client', { reason: 'client_auth' });
    }
    method = 'client_secret_basic';
  } else if (input.clientSecret !== undefined) {
    clientId = input.clientId;
    secret = input.clientSecret;
    method = 'client_secret_post';
  } else {
    clientId = input.clientId;
    method = 'none';
  }
  if (!clientId) throw invalidClient('client authentication is required', basic);

  const client = clients.find(clientId);
  if (secret !== undefined) {
    // Verify against a decoy hash for unknown clients, so the answer time does not reveal them.
    const matches = await verifySecret(secret, client?.client_secret_hash ?? decoySecretHash);
    if (!client || !matches) throw invalidClient('client authentication failed', basic);
  }
  if (!client) throw invalidClient('client authentication failed', basic);
  if (client.token_endpoint_auth_method !== method) {
    throw invalidClient(`client must authenticate with ${client.token_endpoint_auth_method}`, basic);
  }
  return client;
}
