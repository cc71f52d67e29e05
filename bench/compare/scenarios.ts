/**
 * The scenarios, each preparing the calls of one round against one server before the round
 * starts: codes minted, tokens fetched, one DPoP proof signed per call. Both servers get the
 * same requests; only paths and URLs come from their discovery documents.
 */
import { mintCodes, codeVerifier, spaClientId, spaRedirectUri } from './codes.js';
import { basicAuthorization, formBody, formHeaders, type Call, type Connections, type CookieJar } from './http.js';
import { accessTokenHash, decodeJwt, signProof, signProofs, type ProofKey } from './proofs.js';
import type { Server } from './servers.js';

export interface Target {
  server: Server;
  connections: Connections;
  /** alice's signed-in session at this server. */
  jar: CookieJar;
  concurrency: number;
}

export interface Scenario {
  name: string;
  prepare: (target: Target, key: ProofKey, count: number) => Promise<Call[]>;
}

const service = basicAuthorization('demo-service', 'demo-service-secret-0123456789abcdef');
const resourceServer = basicAuthorization('demo-resource-server', 'demo-rs-secret-0123456789abcdef01234');
const clientCredentialsBody = formBody({ grant_type: 'client_credentials', scope: 'api:read' });

const pathOf = (url: string) => new URL(url).pathname;

interface TokenAnswer {
  access_token: string;
  token_type: string;
  refresh_token?: string;
  id_token?: string;
}

async function postToken(target: Target, headers: Record<string, string>, body: string): Promise<TokenAnswer> {
  const answer = await target.connections.send({
    method: 'POST',
    path: pathOf(target.server.endpoints.token),
    headers: { ...formHeaders, ...headers },
    body,
  });
  if (answer.status !== 200)
    throw new Error(`${target.server.name}: token request answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  return JSON.parse(answer.body) as TokenAnswer;
}

function codeExchangeBody(code: string): string {
  return formBody({
    grant_type: 'authorization_code',
    code,
    code_verifier: codeVerifier,
    client_id: spaClientId,
    redirect_uri: spaRedirectUri,
  });
}

/** Exchanges codes for DPoP-bound tokens, `concurrency` at a time. */
async function exchangeCodes(target: Target, key: ProofKey, codes: readonly string[]): Promise<TokenAnswer[]> {
  const answers: TokenAnswer[] = new Array(codes.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(target.concurrency, codes.length) }, async () => {
      while (next < codes.length) {
        const index = next++;
        const dpop = signProof(key, 'POST', target.server.endpoints.token);
        answers[index] = await postToken(target, { dpop }, codeExchangeBody(codes[index]!));
      }
    }),
  );
  return answers;
}

/** alice's DPoP-bound access token from one fresh code. */
export async function userAccessToken(target: Target, key: ProofKey): Promise<TokenAnswer> {
  const [code] = await mintCodes(target.server, target.connections, target.jar, 1, 1);
  const [answer] = await exchangeCodes(target, key, [code!]);
  return answer!;
}

export const scenarios: readonly Scenario[] = [
  {
    name: 'token, client_credentials, DPoP',
    prepare: async ({ server }, key, count) =>
      signProofs(key, count, 'POST', server.endpoints.token).map((dpop) => ({
        method: 'POST',
        path: pathOf(server.endpoints.token),
        headers: { ...formHeaders, authorization: service, dpop },
        body: clientCredentialsBody,
      })),
  },
  {
    name: 'token, client_credentials, Bearer',
    prepare: async ({ server }, _key, count) =>
      Array.from({ length: count }, () => ({
        method: 'POST',
        path: pathOf(server.endpoints.token),
        headers: { ...formHeaders, authorization: service },
        body: clientCredentialsBody,
      })),
  },
  {
    name: 'profile (userinfo), DPoP',
    prepare: async (target, key, count) => {
      const { access_token: token } = await userAccessToken(target, key);
      const url = target.server.endpoints.userinfo;
      return signProofs(key, count, 'GET', url, accessTokenHash(token)).map((dpop) => ({
        method: 'GET',
        path: pathOf(url),
        headers: { authorization: `DPoP ${token}`, dpop },
      }));
    },
  },
  {
    name: 'introspection of a DPoP-bound token',
    prepare: async (target, key, count) => {
      const { access_token: token } = await userAccessToken(target, key);
      const body = formBody({ token });
      return Array.from({ length: count }, () => ({
        method: 'POST',
        path: pathOf(target.server.endpoints.introspection),
        headers: { ...formHeaders, authorization: resourceServer },
        body,
      }));
    },
  },
  {
    name: 'authorization-code exchange, DPoP',
    prepare: async (target, key, count) => {
      const codes = await mintCodes(target.server, target.connections, target.jar, count, target.concurrency);
      const proofs = signProofs(key, count, 'POST', target.server.endpoints.token);
      return codes.map((code, index) => ({
        method: 'POST',
        path: pathOf(target.server.endpoints.token),
        headers: { ...formHeaders, dpop: proofs[index]! },
        body: codeExchangeBody(code),
      }));
    },
  },
  {
    name: 'refresh, DPoP',
    prepare: async (target, key, count) => {
      const codes = await mintCodes(target.server, target.connections, target.jar, count, target.concurrency);
      const tokens = await exchangeCodes(target, key, codes);
      const proofs = signProofs(key, count, 'POST', target.server.endpoints.token);
      return tokens.map(({ refresh_token: refreshToken }, index) => {
        if (!refreshToken) throw new Error(`${target.server.name}: the code exchange gave no refresh token`);
        return {
          method: 'POST',
          path: pathOf(target.server.endpoints.token),
          headers: { ...formHeaders, dpop: proofs[index]! },
          body: formBody({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: spaClientId }),
        };
      });
    },
  },
];

/** The token endpoint scenario the scaling comparison runs. */
export const scalingScenario = scenarios[0]!;

/**
 * Checks, once per server, that both are configured alike where the table compares them, and
 * says how: token types, access-token formats and algorithms, what the bound token carries.
 */
export async function checkEquivalence(target: Target, key: ProofKey): Promise<string[]> {
  const { server } = target;
  const facts: string[] = [];
  const fail = (what: string) => {
    throw new Error(`${server.name}: ${what}`);
  };
  const describeToken = (token: string) => {
    if (token.split('.').length !== 3) return 'opaque';
    const { header, claims } = decodeJwt(token);
    const cnf = claims.cnf as { jkt?: string } | undefined;
    return `JWT ${String(header.alg)} typ ${String(header.typ)}${cnf?.jkt ? ', cnf.jkt' : ''}`;
  };

  const dpop = await postToken(
    target,
    { authorization: service, dpop: signProof(key, 'POST', server.endpoints.token) },
    clientCredentialsBody,
  );
  if (dpop.token_type.toLowerCase() !== 'dpop') fail(`client_credentials with a proof gave token_type ${dpop.token_type}`);
  if (!describeToken(dpop.access_token).startsWith('JWT ES256 typ at+jwt, cnf.jkt'))
    fail(`client_credentials access token is ${describeToken(dpop.access_token)}`);
  facts.push(`client_credentials + DPoP: token_type ${dpop.token_type}, ${describeToken(dpop.access_token)}`);

  const bearer = await postToken(target, { authorization: service }, clientCredentialsBody);
  if (bearer.token_type.toLowerCase() !== 'bearer') fail(`client_credentials without a proof gave token_type ${bearer.token_type}`);
  facts.push(`client_credentials: token_type ${bearer.token_type}, ${describeToken(bearer.access_token)}`);

  const user = await userAccessToken(target, key);
  if (user.token_type.toLowerCase() !== 'dpop') fail(`the code exchange with a proof gave token_type ${user.token_type}`);
  if (!user.refresh_token) fail('the code exchange gave no refresh token');
  if (!user.id_token || decodeJwt(user.id_token).header.alg !== 'ES256') fail('the code exchange gave no ES256 ID token');
  facts.push(
    `code exchange + DPoP: token_type ${user.token_type}, access token ${describeToken(user.access_token)}, refresh token, ID token ES256`,
  );

  const refreshed = await postToken(
    target,
    { dpop: signProof(key, 'POST', server.endpoints.token) },
    formBody({ grant_type: 'refresh_token', refresh_token: user.refresh_token!, client_id: spaClientId }),
  );
  if (refreshed.token_type.toLowerCase() !== 'dpop') fail(`refresh with a proof gave token_type ${refreshed.token_type}`);
  if (!refreshed.refresh_token || refreshed.refresh_token === user.refresh_token) fail('refresh did not rotate the refresh token');
  facts.push(
    `refresh + DPoP: token_type ${refreshed.token_type}, rotated refresh token${refreshed.id_token ? ', ID token' : ', no ID token'}`,
  );

  const profile = await target.connections.send({
    method: 'GET',
    path: pathOf(server.endpoints.userinfo),
    headers: {
      authorization: `DPoP ${user.access_token}`,
      dpop: signProof(key, 'GET', server.endpoints.userinfo, accessTokenHash(user.access_token)),
    },
  });
  if (profile.status !== 200 || !(JSON.parse(profile.body) as { sub?: string }).sub)
    fail(`userinfo answered ${profile.status}: ${profile.body.slice(0, 200)}`);

  const introspection = await target.connections.send({
    method: 'POST',
    path: pathOf(server.endpoints.introspection),
    headers: { ...formHeaders, authorization: resourceServer },
    body: formBody({ token: user.access_token }),
  });
  const introspected = JSON.parse(introspection.body) as { active?: boolean; cnf?: { jkt?: string } };
  if (introspection.status !== 200 || introspected.active !== true || !introspected.cnf?.jkt)
    fail(`introspection answered ${introspection.status}: ${introspection.body.slice(0, 200)}`);
  facts.push('userinfo 200 with sub; introspection active with cnf.jkt');
  return facts;
}
