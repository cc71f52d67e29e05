import { z } from 'zod';
import { corsOrigin, redirectUri } from './uris.js';

/** JWK members that only a private or symmetric key has. */
const privateJwkMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/** A registered client; member names follow the registration metadata (RFC 7591, OpenID Connect). */
export const clientSchema = z
  .strictObject({
    client_id: z.string().min(1).max(200).describe('The client identifier, unique among clients.'),
    client_name: z.string().optional().describe('A name for people: consent page and logs.'),
    client_secret_hash: z
      .string()
      .min(1)
      .optional()
      .describe('Hash of the client secret, made with npm run hash-secret (never the secret itself).'),
    token_endpoint_auth_method: z
      .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'])
      .default('client_secret_basic')
      .describe('How the client authenticates at the token, introspection and revocation endpoints; none for a public client.'),
    // JWK members vary by key type, so each key stays a free-form record.
    jwks: z
      .strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1).describe('The public JWKs (RFC 7517).') })
      .optional()
      .describe('Public keys for private_key_jwt (RFC 7523): a JWK set, each key with kty and, best, kid and alg.'),
    grant_types: z
      .array(z.enum(['client_credentials', 'authorization_code', 'refresh_token']))
      .default(['client_credentials'])
      .describe('Grants the client may use.'),
    scope: z.string().default('').describe('Space-separated scopes the client may ask for.'),
    dpop_bound_access_tokens: z
      .boolean()
      .default(false)
      .describe('RFC 9449 §5.2: when true, token requests without a DPoP proof are refused.'),
    dpop_require_nonce: z
      .boolean()
      .default(false)
      .describe('Require a server-provided DPoP nonce from this client (RFC 9449 §8), even when not required globally.'),
    introspection_allowed: z
      .boolean()
      .default(false)
      .describe('May call the introspection endpoint (RFC 7662 §2.1: callers must be authorised).'),
    redirect_uris: z
      .array(redirectUri)
      .default([])
      .describe('Exact redirect URIs: https, http only on loopback hosts, or a private-use scheme (RFC 9700 §2.1, RFC 8252 §7.1).'),
    post_logout_redirect_uris: z
      .array(redirectUri)
      .default([])
      .describe('Where logout may send the browser back to; the same rules as redirect_uris.'),
    allowed_cors_origins: z
      .array(corsOrigin)
      .optional()
      .describe('Browser origins allowed by CORS; defaults to the origins of redirect_uris.'),
    first_party: z.boolean().default(false).describe('Skip the consent page for this client.'),
  })
  .superRefine((client, ctx) => {
    if (client.token_endpoint_auth_method === 'private_key_jwt') {
      if (!client.jwks) ctx.addIssue({ code: 'custom', path: ['jwks'], message: 'required for private_key_jwt' });
      const privateMember = client.jwks?.keys.findIndex((key) => privateJwkMembers.some((member) => member in key));
      if (privateMember !== undefined && privateMember >= 0) {
        ctx.addIssue({ code: 'custom', path: ['jwks', 'keys', privateMember], message: 'must be a public key' });
      }
    } else if (client.token_endpoint_auth_method !== 'none' && !client.client_secret_hash) {
      ctx.addIssue({
        code: 'custom',
        path: ['client_secret_hash'],
        message: `required for token_endpoint_auth_method ${client.token_endpoint_auth_method}`,
      });
    }
    if (client.grant_types.includes('authorization_code') && client.redirect_uris.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['redirect_uris'], message: 'required for the authorization_code grant' });
    }
    if (client.token_endpoint_auth_method === 'none' && client.grant_types.includes('client_credentials')) {
      ctx.addIssue({
        code: 'custom',
        path: ['grant_types'],
        message: 'a public client (token_endpoint_auth_method none) cannot use client_credentials',
      });
    }
  });
