/**
 * Per-operation cost of the hot-path crypto, jose (WebCrypto) against the node:crypto stand-ins
 * the provider uses for its own tokens and for proof-key thumbprints:
 *   npx tsx bench/crypto.ts [iterations=20000]
 * Each pair runs alternately in rounds, so background load hits both alike.
 */
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import { jwkThumbprint } from '../src/dpop/thumbprint.js';
import { signCompactJws } from '../src/tokens/jws.js';
import { generateSigningJwks, signingKeysFromJwks } from '../src/tokens/keys.js';

const iterations = Number(process.argv[2] ?? 20000);
const rounds = 5;

async function time(run: () => unknown | Promise<unknown>, count: number): Promise<number> {
  const started = performance.now();
  for (let index = 0; index < count; index++) await run();
  return ((performance.now() - started) * 1000) / count;
}

async function compare(name: string, joseRun: () => Promise<unknown>, nodeRun: () => unknown): Promise<void> {
  const jose: number[] = [];
  const node: number[] = [];
  for (let round = 0; round < rounds; round++) {
    jose.push(await time(joseRun, iterations / rounds));
    node.push(await time(nodeRun, iterations / rounds));
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(`${name.padEnd(24)} jose ${median(jose).toFixed(1).padStart(6)} µs   node:crypto ${median(node).toFixed(1).padStart(6)} µs`);
}

const jwks = await generateSigningJwks('ES256');
const keys = await signingKeysFromJwks(jwks);
// The same private key as a WebCrypto key, for jose's signer.
const joseKey = await importJWK(jwks.keys[0]!, 'ES256');
const { publicKey } = await generateKeyPair('ES256', { extractable: true });
const proofJwk = await exportJWK(publicKey);
const claims = {
  iss: 'https://id.example.com/oidc',
  sub: 'client',
  aud: 'https://id.example.com/oidc',
  client_id: 'client',
  scope: 'api:read',
  iat: 1,
  exp: 2,
  jti: 'x',
  cnf: { jkt: 'y' },
};

console.log(`${iterations} operations each, median of ${rounds} rounds, Node ${process.version}`);
await compare(
  'ES256 access token sign',
  () => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: keys.current.kid }).sign(joseKey),
  () => signCompactJws({ typ: 'at+jwt' }, claims, keys.current),
);
await compare(
  'JWK thumbprint (P-256)',
  () => calculateJwkThumbprint(proofJwk, 'sha256'),
  () => jwkThumbprint(proofJwk),
);
