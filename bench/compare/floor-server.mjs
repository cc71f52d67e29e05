/**
 * The floor of the token endpoint: the least a Fastify server on node:crypto does to answer
 * bench:compare's client_credentials requests. It parses the form, verifies the DPoP proof's
 * ES256 signature with the key of its header (imported once per header, as dpop-oidc caches it)
 * and signs an ES256 JWT access token, and does nothing else: no client authentication, no
 * claim checks, no replay store, no log, no metrics, no CORS. It is not a server to run; it
 * answers "how cheap could this request be here?" (bench/floor.ts).
 *   PORT=8080 JWKS_FILE=keys.json node bench/compare/floor-server.mjs
 */
import { Buffer } from 'node:buffer';
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import formbody from '@fastify/formbody';
import Fastify from 'fastify';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}/oidc`;
const { keys } = JSON.parse(readFileSync(process.env.JWKS_FILE, 'utf8'));
const signingJwk = keys.find((key) => key.alg === 'ES256') ?? keys[0];
const signingKey = createPrivateKey({ key: signingJwk, format: 'jwk' });
const header = Buffer.from(JSON.stringify({ typ: 'at+jwt', alg: 'ES256', kid: signingJwk.kid })).toString('base64url');

/** Proof headers already seen: the key and its thumbprint. */
const proofKeys = new Map();

function proofKey(segment) {
  let known = proofKeys.get(segment);
  if (!known) {
    const { jwk } = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    const thumbprint = createHash('sha256')
      .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))
      .digest('base64url');
    known = { key: createPublicKey({ key: jwk, format: 'jwk' }), thumbprint };
    proofKeys.set(segment, known);
  }
  return known;
}

const app = Fastify({ logger: false });
await app.register(formbody);

app.get('/healthz', async () => ({ status: 'ok' }));
app.get('/oidc/.well-known/openid-configuration', async () => ({
  issuer,
  token_endpoint: `${issuer}/token`,
  userinfo_endpoint: `${issuer}/userinfo`,
  introspection_endpoint: `${issuer}/introspect`,
  authorization_endpoint: `${issuer}/authorize`,
}));

app.post('/oidc/token', (request, reply) => {
  const proof = request.headers.dpop;
  let cnf;
  if (typeof proof === 'string') {
    const firstDot = proof.indexOf('.');
    const secondDot = proof.indexOf('.', firstDot + 1);
    const { key, thumbprint } = proofKey(proof.slice(0, firstDot));
    const signature = Buffer.from(proof.slice(secondDot + 1), 'base64url');
    if (!verify('sha256', Buffer.from(proof.slice(0, secondDot)), { key, dsaEncoding: 'ieee-p1363' }, signature)) {
      return reply.code(400).send({ error: 'invalid_dpop_proof' });
    }
    cnf = { jkt: thumbprint };
  }
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    sub: 'demo-service',
    aud: issuer,
    client_id: 'demo-service',
    scope: request.body.scope,
    jti: randomUUID(),
    iat: now,
    exp: now + 600,
  };
  if (cnf) claims.cnf = cnf;
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const token = `${input}.${sign('sha256', Buffer.from(input), { key: signingKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  reply.header('cache-control', 'no-store');
  return reply.send({ access_token: token, token_type: cnf ? 'DPoP' : 'Bearer', expires_in: 600, scope: request.body.scope });
});

await app.listen({ port, host: '127.0.0.1' });
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => void app.close().then(() => process.exit(0)));
