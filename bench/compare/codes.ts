/**
 * Authorization codes without a browser: one sign-in through the server's own pages (GET the
 * authorization endpoint, follow its redirects, post its sign-in and consent forms), then each
 * further authorization request of that session is answered at once with a redirect carrying
 * a code, as a signed-in user's second visit is. Costs nothing in the measured rounds.
 */
import { CookieJar, formBody, formHeaders, readForm, type Answer, type Connections } from './http.js';
import { pkcePair } from './proofs.js';
import type { Server } from './servers.js';

export const spaClientId = 'demo-spa';
export const spaRedirectUri = 'http://localhost:5173/callback';
export const userScope = 'openid profile email offline_access';

const pkce = pkcePair();
export const codeVerifier = pkce.verifier;

function authorizationPath(server: Server, state: string): string {
  const url = new URL(server.endpoints.authorization);
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: spaClientId,
    redirect_uri: spaRedirectUri,
    scope: userScope,
    state,
    nonce: `nonce-${state}`,
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
  });
  return `${url.pathname}?${query}`;
}

function location(answer: Answer): string | undefined {
  const value = answer.headers.location;
  return typeof value === 'string' ? value : undefined;
}

function codeOf(redirect: string): string | undefined {
  if (!redirect.startsWith(spaRedirectUri)) return undefined;
  return new URL(redirect).searchParams.get('code') ?? undefined;
}

const describe = (answer: Answer) => `${answer.status} ${location(answer) ?? answer.body.slice(0, 300)}`;

/** Signs alice in (and consents), leaving the session's cookies in the jar; returns the first code. */
export async function signIn(server: Server, connections: Connections, jar: CookieJar): Promise<string> {
  let answer = await connections.send({ method: 'GET', path: authorizationPath(server, 'sign-in'), headers: jar.header() });
  for (let step = 0; step < 10; step++) {
    jar.update(answer.headers['set-cookie']);
    const redirect = location(answer);
    if (answer.status >= 300 && answer.status < 400 && redirect) {
      const code = codeOf(redirect);
      if (code) return code;
      const next = new URL(redirect, server.endpoints.issuer);
      answer = await connections.send({ method: 'GET', path: `${next.pathname}${next.search}`, headers: jar.header() });
      continue;
    }
    const form = answer.status === 200 ? readForm(answer.body) : undefined;
    if (!form) break;
    const action = new URL(form.action, server.endpoints.authorization);
    answer = await connections.send({
      method: 'POST',
      path: `${action.pathname}${action.search}`,
      headers: { ...formHeaders, ...jar.header() },
      body: formBody({ ...form.hidden, ...server.signInFields }),
    });
  }
  throw new Error(`${server.name}: sign-in did not end with a code: ${describe(answer)}`);
}

/** `count` codes from the signed-in session, `concurrency` requests at a time. */
export async function mintCodes(
  server: Server,
  connections: Connections,
  jar: CookieJar,
  count: number,
  concurrency: number,
): Promise<string[]> {
  const codes: string[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const index = next++;
        const answer = await connections.send({ method: 'GET', path: authorizationPath(server, `s${index}`), headers: jar.header() });
        const code = answer.status === 303 || answer.status === 302 ? codeOf(location(answer) ?? '') : undefined;
        if (!code) throw new Error(`${server.name}: an authorization request of the signed-in session gave no code: ${describe(answer)}`);
        codes[index] = code;
      }
    }),
  );
  return codes;
}
