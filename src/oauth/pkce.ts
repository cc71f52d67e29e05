import { hash } from 'node:crypto';
import { constantTimeEqual } from '../lib/constant-time.js';

/** RFC 7636 §4.1: 43 to 128 characters of [A-Za-z0-9-._~]. */
const verifierSyntax = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 §4.6 with S256: BASE64URL(SHA256(ASCII(code_verifier))) equals the challenge, compared in constant time. */
export function verifyPkce(codeVerifier: string, codeChallenge: string): boolean {
  if (!verifierSyntax.test(codeVerifier)) return false;
  // The syntax above is ASCII only, so its UTF-8 is its ASCII.
  const computed = Buffer.from(hash('sha256', codeVerifier, 'base64url'));
  const expected = Buffer.from(codeChallenge);
  return constantTimeEqual(computed, expected);
}
