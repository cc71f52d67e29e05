#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { fail } from './fail.js';
import { makeProof } from './make-proof.js';
import { isProofAlgorithm, loadOrCreateProofKey, proofAlgorithms, ProofKeyError } from './proof-key.js';

/**
 * Prints one DPoP proof JWT (RFC 9449) for a request, so curl can send one:
 *   curl -H "DPoP: $(npm run -s proof -- --method POST --url http://localhost:8080/oidc/token)" …
 * The key file (a private JWK, mode 0600) is created on first use and reused after, so every
 * proof is made by the key the token is bound to.
 */
const usage = 'usage: proof --method METHOD --url URL [--key dpop-key.json] [--alg ES256] [--access-token AT] [--nonce N]';

let values;
try {
  ({ values } = parseArgs({
    options: {
      method: { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string', default: 'dpop-key.json' },
      alg: { type: 'string' },
      'access-token': { type: 'string' },
      nonce: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (error) {
  fail(`${(error as Error).message}; ${usage}`, 2);
}
if (values.help) fail(usage, 0);
if (!values.method || !/^[A-Za-z]+$/.test(values.method)) fail(`--method is required (GET, POST, …); ${usage}`, 2);
if (!values.url || !URL.canParse(values.url) || !/^https?:$/.test(new URL(values.url).protocol)) {
  fail(`--url must be an absolute http(s) URL; ${usage}`, 2);
}
if (values.alg !== undefined && !isProofAlgorithm(values.alg)) fail(`--alg must be one of ${proofAlgorithms.join(', ')}`, 2);

try {
  const key = await loadOrCreateProofKey(values.key, values.alg !== undefined && isProofAlgorithm(values.alg) ? values.alg : undefined);
  const proof = await makeProof(key, {
    method: values.method,
    url: values.url,
    ...(values['access-token'] !== undefined ? { accessToken: values['access-token'] } : {}),
    ...(values.nonce !== undefined ? { nonce: values.nonce } : {}),
  });
  process.stdout.write(`${proof}\n`);
} catch (error) {
  fail(error instanceof ProofKeyError ? error.message : `cannot make a proof: ${(error as Error).message}`, 1);
}
