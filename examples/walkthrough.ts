/**
 * The DPoP flow a client runs, against a running provider:
 *   npx tsx examples/walkthrough.ts            (issuer http://localhost:8080/oidc, the demo clients)
 *   ISSUER=https://id.example.com/oidc npx tsx examples/walkthrough.ts
 * 1. make an ES256 key pair (a browser would keep it non-extractable);
 * 2. POST /token with client credentials and a DPoP proof: a DPoP-bound access token;
 * 3. GET /profile with `Authorization: DPoP <token>` and a new proof carrying `ath`;
 * 4. POST /introspect as the resource server: active, token_type DPoP, cnf.jkt.
 * A `use_dpop_nonce` answer is retried once with the nonce the server sent (RFC 9449 §8).
 */
import { createHash, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { SignJWT, calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair } from 'jose';

export interface WalkthroughOptions {
  issuer: string;
  client: { id: string; secret: string };
  resourceServer: { id: string; secret: string };
}

export async function walkthrough(options: WalkthroughOptions) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const jkt = await calculateJwkThumbprint(jwk);

  const proof = (htm: string, htu: string, extra: Record<string, string> = {}) =>
    new SignJWT({ jti: randomUUID(), htm, htu, iat: Date.now() / 1000, ...extra })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
      .sign(privateKey);
  const basic = (id: string, secret: string) =>
    `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

  // Sends a request with a fresh proof; retries once with the server's nonce when asked for one.
  async function withProof(url: string, init: RequestInit & { method: string }, extra: Record<string, string> = {}) {
    let nonce: string | undefined;
    for (let attempt = 0; ; attempt++) {
      const dpop = await proof(init.method, url, { ...extra, ...(nonce ? { nonce } : {}) });
      const response = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), dpop } });
      const retry = response.headers.get('dpop-nonce');
      const challenged = response.status === 401 || response.status === 400;
      if (attempt === 0 && challenged && retry && (await response.clone().text()).includes('use_dpop_nonce')) {
        nonce = retry;
        continue;
      }
      return response;
    }
  }

  const tokenResponse = await withProof(`${options.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(options.client.id, options.client.secret),
    },
    body: 'grant_type=client_credentials',
  });
  const token = (await tokenResponse.json()) as { access_token: string; token_type: string };
  if (tokenResponse.status !== 200) throw new Error(`token request failed: ${JSON.stringify(token)}`);

  const ath = createHash('sha256').update(token.access_token).digest('base64url');
  const profileResponse = await withProof(
    `${options.issuer}/profile`,
    { method: 'GET', headers: { authorization: `DPoP ${token.access_token}` } },
    { ath },
  );
  const profile = (await profileResponse.json()) as Record<string, unknown>;

  const introspectionResponse = await fetch(`${options.issuer}/introspect`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(options.resourceServer.id, options.resourceServer.secret),
    },
    body: new URLSearchParams({ token: token.access_token }),
  });
  const introspection = (await introspectionResponse.json()) as Record<string, unknown>;
  // The token is bound to the key: its cnf.jkt is the key's thumbprint (RFC 9449 §6.1).
  const cnf = decodeJwt(token.access_token).cnf as { jkt?: string } | undefined;
  return {
    accessToken: token.access_token,
    cnf: { jkt: cnf?.jkt },
    jkt,
    tokenType: token.token_type,
    profileStatus: profileResponse.status,
    profile,
    introspection,
  };
}

/** Why a fetch failed, in one line: fetch's own message ("fetch failed") hides the cause. */
function reachFailure(error: unknown, issuer: string): string | undefined {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (!(error instanceof TypeError) || !cause) return undefined;
  return `cannot reach ${issuer} (${cause.code ?? cause.message ?? 'no answer'}): start the server first (npm start), or set ISSUER`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const issuer = process.env.ISSUER ?? 'http://localhost:8080/oidc';
  try {
    const result = await walkthrough({
      issuer,
      client: { id: 'demo-service', secret: 'demo-service-secret-0123456789abcdef' },
      resourceServer: { id: 'demo-resource-server', secret: 'demo-rs-secret-0123456789abcdef01234' },
    });
    console.log(`access token: ${result.accessToken}`);
    console.log(
      `cnf.jkt:      ${result.cnf.jkt} (${result.cnf.jkt === result.jkt ? "the thumbprint of this run's key" : `not this run's key, ${result.jkt}`})`,
    );
    console.log(
      JSON.stringify(
        { tokenType: result.tokenType, profileStatus: result.profileStatus, profile: result.profile, introspection: result.introspection },
        null,
        2,
      ),
    );
  } catch (error) {
    process.stderr.write(`${reachFailure(error, issuer) ?? (error as Error).message}\n`);
    process.exit(1);
  }
}
