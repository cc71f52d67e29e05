import { base64url, createProof, sha256, thumbprint } from './dpop.js';

export interface AppConfig {
  issuer: string;
  clientId: string;
  scope: string;
}

export interface Metadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
  revocation_endpoint: string;
  end_session_endpoint: string;
}

export interface Tokens {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  id_token?: string;
}

export type RequestLog = (line: string) => void;

const random = (bytes: number) => base64url(crypto.getRandomValues(new Uint8Array(bytes)));
const redirectUri = () => `${location.origin}/callback`;
const form = { 'content-type': 'application/x-www-form-urlencoded' };

export async function discover(issuer: string): Promise<Metadata> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`discovery answered ${response.status}`);
  const metadata = (await response.json()) as Metadata;
  // OIDC Discovery §4.3: the metadata must name the issuer we asked.
  if (metadata.issuer !== issuer) throw new Error(`discovery names issuer ${metadata.issuer}, expected ${issuer}`);
  return metadata;
}

/**
 * fetch with a fresh DPoP proof per request. The server may demand a nonce (RFC 9449 §8, §9):
 * a 400 `use_dpop_nonce` (token endpoint) or a 401 with `WWW-Authenticate: DPoP
 * error="use_dpop_nonce"` (resource), both with `DPoP-Nonce`; then retry once with that nonce.
 * The latest nonce per endpoint is kept and sent with the next proof.
 */
export class DpopFetch {
  private readonly nonces = new Map<string, string>();

  constructor(
    private readonly key: CryptoKeyPair,
    private readonly log: RequestLog,
  ) {}

  async send(
    url: string,
    init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: URLSearchParams },
    accessToken?: string,
  ): Promise<Response> {
    const ath = accessToken ? await sha256(accessToken) : undefined;
    for (let attempt = 0; ; attempt++) {
      const nonce = this.nonces.get(url);
      const dpop = await createProof(this.key, init.method, url, { ...(ath ? { ath } : {}), ...(nonce ? { nonce } : {}) });
      const response = await fetch(url, { ...init, headers: { ...init.headers, dpop } });
      const newNonce = response.headers.get('dpop-nonce');
      if (newNonce) this.nonces.set(url, newNonce);
      const path = new URL(url).pathname;
      if (attempt === 0 && newNonce && (await asksForNonce(response))) {
        this.log(`${init.method} ${path} → ${response.status} use_dpop_nonce: retrying with the DPoP-Nonce`);
        continue;
      }
      this.log(`${init.method} ${path} → ${response.status}${response.ok ? '' : ` ${await errorOf(response)}`}`);
      return response;
    }
  }
}

async function asksForNonce(response: Response): Promise<boolean> {
  if (response.status === 401) return (response.headers.get('www-authenticate') ?? '').includes('error="use_dpop_nonce"');
  return response.status === 400 && (await errorOf(response)) === 'use_dpop_nonce';
}

/** The OAuth error: from the JSON body, or from WWW-Authenticate at a resource (RFC 6750 §3). */
export async function errorOf(response: Response): Promise<string> {
  const challenge = response.headers.get('www-authenticate');
  if (challenge) return challenge;
  const body = (await response
    .clone()
    .json()
    .catch(() => ({}))) as { error?: string };
  return body.error ?? '';
}

/** Step 1: PKCE (RFC 7636), state, nonce and dpop_jkt (RFC 9449 §10), then off to sign in. */
export async function signIn(config: AppConfig, metadata: Metadata, key: CryptoKeyPair): Promise<void> {
  const login = { verifier: random(32), state: random(16), nonce: random(16) };
  sessionStorage.setItem('login', JSON.stringify(login));
  const url = new URL(metadata.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: config.scope,
    state: login.state,
    nonce: login.nonce,
    code_challenge: await sha256(login.verifier),
    code_challenge_method: 'S256',
    // Binds the code to this key: only a proof by it can redeem the code.
    dpop_jkt: await thumbprint(key),
  }).toString();
  location.assign(url);
}

/** Step 2: back on /callback, check state and iss (RFC 9207), redeem the code with a proof. */
export async function completeSignIn(config: AppConfig, metadata: Metadata, dpop: DpopFetch): Promise<Tokens> {
  const params = new URLSearchParams(location.search);
  const login = JSON.parse(sessionStorage.getItem('login') ?? 'null') as { verifier: string; state: string; nonce: string } | null;
  sessionStorage.removeItem('login');
  if (!login || params.get('state') !== login.state) throw new Error('state does not match: start the sign-in again');
  if (params.get('iss') !== metadata.issuer) throw new Error('iss does not match the issuer');
  if (params.get('error')) throw new Error(`${params.get('error')}: ${params.get('error_description') ?? ''}`);
  const tokens = await tokenRequest(metadata, dpop, {
    grant_type: 'authorization_code',
    code: params.get('code') ?? '',
    redirect_uri: redirectUri(),
    client_id: config.clientId,
    code_verifier: login.verifier,
  });
  // The ID token came straight from the token endpoint over TLS (OIDC Core §3.1.3.7): check
  // that it is for us and answers our request.
  const claims = jwtClaims(tokens.id_token ?? '');
  if (claims.iss !== metadata.issuer || ![claims.aud ?? []].flat().includes(config.clientId) || claims.nonce !== login.nonce) {
    throw new Error('the ID token is not for this sign-in');
  }
  return tokens;
}

function jwtClaims(jwt: string): { iss?: string; aud?: string | string[]; nonce?: string } {
  const part = (jwt.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/');
  try {
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}

/** The refresh token is bound to the same key: a new pair each time (rotation). */
export function refresh(config: AppConfig, metadata: Metadata, dpop: DpopFetch, refreshToken: string): Promise<Tokens> {
  return tokenRequest(metadata, dpop, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: config.clientId });
}

async function tokenRequest(metadata: Metadata, dpop: DpopFetch, fields: Record<string, string>): Promise<Tokens> {
  const response = await dpop.send(metadata.token_endpoint, { method: 'POST', headers: form, body: new URLSearchParams(fields) });
  const body = (await response.json()) as Tokens & { error?: string; error_description?: string };
  if (!response.ok) throw new Error(`token endpoint: ${body.error}: ${body.error_description ?? ''}`);
  return body;
}

/** Revoking the refresh token ends the grant: its access tokens stop working too (RFC 7009). */
export async function revoke(config: AppConfig, metadata: Metadata, refreshToken: string, log: RequestLog): Promise<void> {
  const response = await fetch(metadata.revocation_endpoint, {
    method: 'POST',
    headers: form,
    body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token', client_id: config.clientId }),
  });
  log(`POST ${new URL(metadata.revocation_endpoint).pathname} → ${response.status}`);
  if (!response.ok) throw new Error(`revocation answered ${response.status}`);
}

/** RP-initiated logout: the provider ends its session and sends the browser back here. */
export function logoutUrl(metadata: Metadata, idToken: string | undefined): string {
  const url = new URL(metadata.end_session_endpoint);
  url.search = new URLSearchParams({
    ...(idToken ? { id_token_hint: idToken } : {}),
    post_logout_redirect_uri: `${location.origin}/`,
    state: 'signed-out',
  }).toString();
  return url.href;
}
