import type { Config } from '../config/schema.js';
import { scopeClaims } from '../users/directory.js';
import { clientAssertionAlgorithms } from './client-assertion.js';

/** The endpoint URLs, all derived from the configured issuer (never from request headers). */
export function endpointUrls(issuer: string) {
  return {
    authorization: `${issuer}/authorize`,
    login: `${issuer}/login`,
    consent: `${issuer}/consent`,
    token: `${issuer}/token`,
    profile: `${issuer}/profile`,
    introspection: `${issuer}/introspect`,
    revocation: `${issuer}/revoke`,
    endSession: `${issuer}/logout`,
    jwks: `${issuer}/jwks`,
  };
}

export type EndpointUrls = ReturnType<typeof endpointUrls>;

/**
 * OpenID Connect Discovery 1.0 and RFC 8414 metadata: only what is implemented is advertised
 * (the code flow with S256 only, no implicit or hybrid, RFC 9700 §2.1.1, §2.1.2).
 */
export function providerMetadata(config: Config, urls: EndpointUrls, idTokenAlgorithms: readonly string[]): Record<string, unknown> {
  const authMethods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
  const scopes = ['openid', ...config.clients.flatMap((client) => client.scope.split(' ').filter(Boolean))];
  return {
    issuer: config.issuer,
    authorization_endpoint: urls.authorization,
    token_endpoint: urls.token,
    userinfo_endpoint: urls.profile,
    introspection_endpoint: urls.introspection,
    revocation_endpoint: urls.revocation,
    end_session_endpoint: urls.endSession,
    jwks_uri: urls.jwks,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: [...authMethods, 'none'],
    introspection_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: [...authMethods, 'none'],
    token_endpoint_auth_signing_alg_values_supported: clientAssertionAlgorithms,
    introspection_endpoint_auth_signing_alg_values_supported: clientAssertionAlgorithms,
    revocation_endpoint_auth_signing_alg_values_supported: clientAssertionAlgorithms,
    dpop_signing_alg_values_supported: config.dpop.algs,
    id_token_signing_alg_values_supported: idTokenAlgorithms,
    userinfo_signing_alg_values_supported: [],
    scopes_supported: [...new Set(scopes)],
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'nonce',
      'at_hash',
      'azp',
      ...new Set(Object.values(scopeClaims).flat()),
    ],
    subject_types_supported: ['public'],
    prompt_values_supported: ['none', 'login', 'consent'],
    authorization_response_iss_parameter_supported: true,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  };
}
