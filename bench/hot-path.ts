/**
 * Per-call CPU cost of the DPoP token path's parts, before (jose, WebCrypto) and after
 * (node:crypto, caches), side by side:
 *   npx tsx bench/hot-path.ts [iterations=20000]
 * Each pair runs alternately in rounds, median of the rounds, so background load hits both alike.
 */
import { compactVerify, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';
import { normalizeHtu } from '../src/dpop/htu.js';
import { MemoryRevokedTokens } from '../src/stores/memory/revoked-tokens.js';
import { issueAccessToken, verifyAccessToken } from '../src/tokens/access-token.js';
import { decodeCompactJws, publicKeyForAlgorithm, verifyJwsSignature } from '../src/lib/jws-verify.js';
import { generateSigningJwks, signingKeysFromJwks } from '../src/tokens/keys.js';
import { VerifiedTokenCache } from '../src/tokens/verified-token-cache.js';

const iterations = Number(process.argv[2] ?? 20000);
const rounds = 5;

async function time(run: () => unknown, count: number): Promise<number> {
  const started = performance.now();
  for (let index = 0; index < count; index++) await run();
  return ((performance.now() - started) * 1000) / count;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function compare(name: string, before: () => unknown, after: () => unknown): Promise<void> {
  const old: number[] = [];
  const now: number[] = [];
  for (let round = 0; round < rounds; round++) {
    old.push(await time(before, iterations / rounds));
    now.push(await time(after, iterations / rounds));
  }
  const [a, b] = [median(old), median(now)];
  console.log(`${name.padEnd(34)} before ${a.toFixed(1).padStart(7)} µs   after ${b.toFixed(1).padStart(7)} µs   ×${(a / b).toFixed(1)}`);
}

console.log(`${iterations} calls each, median of ${rounds} rounds, Node ${process.version}`);

// 1. DPoP proof: header decode + key (cached either way) + signature.
const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = await exportJWK(publicKey);
const proof = await new SignJWT({ jti: 'j', htm: 'POST', htu: 'https://id.example.com/oidc/token', iat: 1 })
  .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
  .sign(privateKey);
const joseKey = await importJWK(jwk, 'ES256');
const nodeKey = publicKeyForAlgorithm(jwk as Record<string, unknown>, 'ES256');
await compare(
  'DPoP proof ES256 (decode + verify)',
  async () => {
    decodeProtectedHeader(proof);
    await compactVerify(proof, joseKey, { algorithms: ['ES256'] });
  },
  () => {
    const decoded = decodeCompactJws(proof);
    if (!verifyJwsSignature('ES256', nodeKey, decoded.signingInput, decoded.signatureSegment)) throw new Error('bad');
  },
);

// 2. Access token verification, as the profile endpoint and introspection do it.
const keys = await signingKeysFromJwks(await generateSigningJwks('ES256'));
const issuer = 'https://id.example.com/oidc';
const clock = () => Date.now();
const revoked = new MemoryRevokedTokens(1000, clock);
const { token } = issueAccessToken(
  { subject: 'alice', clientId: 'c', scope: 'api:read', jkt: 'x' },
  { keys, settings: { issuer, audience: issuer, ttlSeconds: 600 }, clock },
);
await compare(
  'access token ES256 verify',
  async () => {
    await jwtVerify(
      token,
      (header) => {
        const key = header.kid ? keys.byKid.get(header.kid) : undefined;
        if (!key || key.alg !== header.alg) throw new Error('unknown key');
        return key.publicKey;
      },
      {
        issuer,
        typ: 'at+jwt',
        algorithms: [...keys.algorithms],
        currentDate: new Date(clock()),
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
      },
    );
    await revoked.isRevoked('x');
  },
  () => verifyAccessToken(token, { keys, issuer, clock, revoked }),
);

// 3. htu normalisation of a proof's htu, already in normal form: WHATWG URL parsing alone, and ours.
const htu = 'https://id.example.com/oidc/token';
await compare(
  'htu normalise',
  () => {
    const url = new URL(htu);
    return `${url.protocol}//${url.host}${url.pathname}`;
  },
  () => normalizeHtu(htu),
);

// 4. Introspection's token check: verify every call, or the verified-token cache (denylist still asked).
const introspected = new VerifiedTokenCache({ keys, issuer, clock, revoked });
await compare(
  'introspection token check',
  () => verifyAccessToken(token, { keys, issuer, clock, revoked }),
  () => introspected.verify(token),
);
