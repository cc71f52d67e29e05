/**
 * DPoP in the browser (RFC 9449) with WebCrypto alone: the key pair is generated
 * non-extractable, so script (an XSS included) can sign with it but never read it out; tokens
 * bound to it are useless anywhere else.
 */

const encoder = new TextEncoder();

export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  let binary = '';
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function sha256(text: string): Promise<string> {
  return base64url(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/** A P-256 key pair whose private half cannot be exported (`extractable: false`). */
export function generateDpopKey(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
}

/** The public key as the proof header's `jwk`: only kty, crv, x, y. */
export async function publicJwk(key: CryptoKeyPair): Promise<JsonWebKey> {
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', key.publicKey);
  return { kty, crv, x, y };
}

/** RFC 7638 thumbprint (the required members in lexicographic order): the `dpop_jkt` and `cnf.jkt`. */
export async function thumbprint(key: CryptoKeyPair): Promise<string> {
  const { crv, kty, x, y } = await publicJwk(key);
  return sha256(JSON.stringify({ crv, kty, x, y }));
}

/**
 * One proof per request (RFC 9449 §4.2): `htm` and `htu` name the request (the URL without
 * query or fragment), `jti` makes it unique, `iat` dates it; at a resource also
 * `ath` = base64url(SHA-256(access token)); `nonce` when the server asked for one.
 */
export async function createProof(
  key: CryptoKeyPair,
  htm: string,
  htu: string,
  extra: { ath?: string; nonce?: string } = {},
): Promise<string> {
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: await publicJwk(key) };
  const payload = { jti: crypto.randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000), ...extra };
  const input = `${base64url(encoder.encode(JSON.stringify(header)))}.${base64url(encoder.encode(JSON.stringify(payload)))}`;
  // WebCrypto's ECDSA signature is r || s, the JWS ES256 format as is (RFC 7518 §3.4).
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, encoder.encode(input));
  return `${input}.${base64url(signature)}`;
}
