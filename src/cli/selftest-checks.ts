import { calculateJwkThumbprint, decodeJwt } from 'jose';
import { makeProof } from './make-proof.js';
import { generateProofKey, proofKeyFromJwk, type ProofKey } from './proof-key.js';
import { send, summary, Unreachable, type Answer } from './selftest-http.js';

export interface SelftestOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  timeoutMs?: number;
  /** Local time in ms: the clock comparison and the proofs' iat. */
  now?: () => number;
}

export interface CheckResult {
  name: 'discovery' | 'clock' | 'token' | 'profile' | 'nonce' | 'replay' | 'htu';
  status: 'pass' | 'fail' | 'skip';
  detail: string;
  hint?: string;
}

// The server's defaults (dpop.maxFutureSeconds, dpop.maxAgeSeconds); the Date header has 1 s resolution.
const maxAheadSeconds = 5;
const maxBehindSeconds = 60;

const issuerHint = (issuer: string) =>
  `every DPoP htu is checked against the configured issuer: behind a proxy, set ISSUER to the public URL (${issuer})`;

/**
 * Drives a running deployment as a DPoP client would, one check after another; a check that
 * cannot run because an earlier one failed is skipped.
 */
export async function runSelftest(options: SelftestOptions, report: (result: CheckResult) => void = () => {}): Promise<CheckResult[]> {
  const issuer = options.issuer.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const results: CheckResult[] = [];
  const record = (result: CheckResult) => {
    results.push(result);
    report(result);
    return result;
  };
  const skipRest = (names: CheckResult['name'][], why: string) => {
    for (const name of names) record({ name, status: 'skip', detail: why });
    return results;
  };
  const key: ProofKey = proofKeyFromJwk(await generateProofKey('ES256'));
  const jkt = await calculateJwkThumbprint(key.publicJwk);
  let skewSeconds: number | undefined;
  const clockHint = () =>
    skewSeconds === undefined
      ? 'compare the clocks of this machine and the server (NTP)'
      : `this machine's clock is ${skewSeconds} s ${skewSeconds >= 0 ? 'ahead of' : 'behind'} the server's (Date header); proofs are accepted from ${maxBehindSeconds} s old to ${maxAheadSeconds} s ahead: sync both clocks (NTP)`;
  // Why the server refused a proof, in terms of what to fix.
  const proofHint = (answer: Answer): string | undefined => {
    const text = answer.description ?? '';
    if (/htu/.test(text)) return issuerHint(issuer);
    if (/iat|before the server started/.test(text)) return clockHint();
    return undefined;
  };

  // 1. Discovery.
  const discoveryUrl = `${issuer}/.well-known/openid-configuration`;
  let discovery: Answer;
  try {
    discovery = await send(discoveryUrl, {}, timeoutMs);
  } catch (error) {
    record({
      name: 'discovery',
      status: 'fail',
      detail: (error as Error).message,
      hint: 'is the server running, and is --issuer its URL (with the path, e.g. https://op.example.com/oidc)?',
    });
    return skipRest(['clock', 'token', 'profile', 'nonce', 'replay', 'htu'], 'needs discovery');
  }
  const metadata = discovery.body;
  if (discovery.status !== 200 || typeof metadata.token_endpoint !== 'string') {
    record({
      name: 'discovery',
      status: 'fail',
      detail: `${discovery.status} at ${discoveryUrl}`,
      hint: '--issuer must be the issuer URL, path included (the server serves /.well-known/openid-configuration under it)',
    });
    return skipRest(['clock', 'token', 'profile', 'nonce', 'replay', 'htu'], 'needs discovery');
  }
  // Reach the endpoints where the caller reached discovery (the public URL), even when the
  // server believes it lives elsewhere: that is the mismatch the following checks expose.
  const configuredIssuer = typeof metadata.issuer === 'string' ? metadata.issuer : issuer;
  const endpoint = (value: unknown, path: string) =>
    typeof value === 'string' && value.startsWith(configuredIssuer)
      ? `${issuer}${value.slice(configuredIssuer.length)}`
      : `${issuer}${path}`;
  const tokenUrl = endpoint(metadata.token_endpoint, '/token');
  const profileUrl = endpoint(metadata.userinfo_endpoint, '/profile');
  const algs = Array.isArray(metadata.dpop_signing_alg_values_supported) ? metadata.dpop_signing_alg_values_supported : [];
  if (configuredIssuer !== issuer) {
    record({
      name: 'discovery',
      status: 'fail',
      detail: `the server's issuer is ${configuredIssuer}, not ${issuer}`,
      hint: issuerHint(issuer),
    });
  } else if (!algs.includes('ES256')) {
    record({
      name: 'discovery',
      status: 'fail',
      detail: `dpop_signing_alg_values_supported is ${JSON.stringify(algs)}`,
      hint: 'DPoP is not advertised with ES256: check dpop.algs',
    });
  } else {
    record({ name: 'discovery', status: 'pass', detail: `issuer ${configuredIssuer}, DPoP algs ${algs.join(' ')}` });
  }

  // 2. Clock: the server's Date header against local time.
  const date = discovery.headers.get('date');
  const serverMs = date ? Date.parse(date) : Number.NaN;
  if (Number.isNaN(serverMs)) {
    record({ name: 'clock', status: 'skip', detail: 'no Date header in the answer' });
  } else {
    // Date is truncated to the second: the server's time is half a second later on average.
    skewSeconds = Math.round((now() - serverMs - 500) / 1000);
    const ok = skewSeconds <= maxAheadSeconds && skewSeconds >= -maxBehindSeconds;
    record({
      name: 'clock',
      status: ok ? 'pass' : 'fail',
      detail: `server ${new Date(serverMs).toISOString()}, local ${new Date(now()).toISOString()} (${skewSeconds} s)`,
      ...(ok ? {} : { hint: clockHint() }),
    });
  }

  // 3. A DPoP token request (client_credentials), retried once with the nonce if asked.
  const nonces = new Map<string, string>();
  const remember = (url: string, answer: Answer) => {
    const nonce = answer.headers.get('dpop-nonce');
    if (nonce) nonces.set(url, nonce);
  };
  const tokenRequest = (dpop: string): RequestInit => ({
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`).toString('base64')}`,
      dpop,
    },
    body: 'grant_type=client_credentials',
  });
  const nonceRetries: string[] = [];
  const nonceFailures: string[] = [];
  // Sends with a fresh proof; on use_dpop_nonce, once more with the nonce (RFC 9449 §8, §9).
  const withProof = async (url: string, init: (dpop: string) => RequestInit, method: string, accessToken?: string) => {
    const proofFor = () =>
      makeProof(key, {
        method,
        url,
        iat: Math.floor(now() / 1000),
        ...(accessToken ? { accessToken } : {}),
        ...(nonces.has(url) ? { nonce: nonces.get(url)! } : {}),
      });
    let proof = await proofFor();
    let answer = await send(url, init(proof), timeoutMs);
    remember(url, answer);
    if (answer.error === 'use_dpop_nonce' && answer.headers.get('dpop-nonce')) {
      proof = await proofFor();
      answer = await send(url, init(proof), timeoutMs);
      remember(url, answer);
      (answer.error === 'use_dpop_nonce' ? nonceFailures : nonceRetries).push(new URL(url).pathname);
    }
    return { answer, proof };
  };

  let token: { answer: Answer; proof: string };
  try {
    token = await withProof(tokenUrl, tokenRequest, 'POST');
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    record({
      name: 'token',
      status: 'fail',
      detail: error.message,
      hint: `discovery answered but ${tokenUrl} did not: check the proxy's routes`,
    });
    return skipRest(['profile', 'nonce', 'replay', 'htu'], 'needs a token');
  }
  const accessToken = typeof token.answer.body.access_token === 'string' ? token.answer.body.access_token : undefined;
  if (token.answer.status !== 200 || !accessToken) {
    const hint =
      token.answer.error === 'invalid_client'
        ? 'check --client-id and --client-secret (sent with client_secret_basic)'
        : token.answer.error === 'unauthorized_client'
          ? 'the client needs client_credentials in its grant_types'
          : (proofHint(token.answer) ?? 'see the server log line for this request (reason)');
    record({ name: 'token', status: 'fail', detail: summary(token.answer), hint });
    return skipRest(['profile', 'nonce', 'replay', 'htu'], 'needs a token');
  }
  const boundTo = (decodeJwt(accessToken).cnf as { jkt?: string } | undefined)?.jkt;
  if (token.answer.body.token_type !== 'DPoP' || boundTo !== jkt) {
    record({
      name: 'token',
      status: 'fail',
      detail: `token_type ${String(token.answer.body.token_type)}, cnf.jkt ${boundTo ?? 'missing'}`,
      hint: 'the token is not bound to the proof key: is a proxy dropping the DPoP header?',
    });
  } else {
    record({ name: 'token', status: 'pass', detail: `DPoP token for ${options.clientId}, cnf.jkt ${jkt}` });
  }

  // 4. The profile endpoint with the bound token and a proof carrying ath.
  const profile = await withProof(
    profileUrl,
    (dpop) => ({ headers: { authorization: `DPoP ${accessToken}`, dpop } }),
    'GET',
    accessToken,
  ).catch((error: unknown) => {
    if (error instanceof Unreachable) return error;
    throw error;
  });
  if (profile instanceof Unreachable) {
    record({ name: 'profile', status: 'fail', detail: profile.message, hint: `check the proxy's routes to ${profileUrl}` });
  } else if (profile.answer.status === 200 && profile.answer.body.sub === options.clientId) {
    record({ name: 'profile', status: 'pass', detail: `200 {"sub":"${options.clientId}"}` });
  } else {
    record({
      name: 'profile',
      status: 'fail',
      detail: summary(profile.answer),
      hint: proofHint(profile.answer) ?? 'see the server log line for this request (reason)',
    });
  }

  // 5. Nonces: where the server requires them, the retry with DPoP-Nonce must have passed.
  if (nonceFailures.length > 0) {
    record({
      name: 'nonce',
      status: 'fail',
      detail: `a proof with the server's own DPoP-Nonce was refused at ${nonceFailures.join(', ')}`,
      hint: 'instances must share DPOP_NONCE_SECRET (and their clocks)',
    });
  } else if (nonceRetries.length > 0) {
    record({ name: 'nonce', status: 'pass', detail: `required; the retry with DPoP-Nonce was accepted at ${nonceRetries.join(', ')}` });
  } else {
    record({ name: 'nonce', status: 'skip', detail: 'the server does not require nonces (DPOP_REQUIRE_NONCE)' });
  }

  // 6. The accepted token request again, same proof: a replay (RFC 9449 §11.1).
  const replay = await send(tokenUrl, tokenRequest(token.proof), timeoutMs);
  if (replay.status === 400 && replay.error === 'invalid_dpop_proof') {
    record({ name: 'replay', status: 'pass', detail: `refused: ${summary(replay)}` });
  } else {
    const accepted = replay.status === 200;
    record({
      name: 'replay',
      status: 'fail',
      detail: accepted ? 'a replayed proof was accepted' : `refused, but not as a replay: ${summary(replay)}`,
      hint: accepted
        ? 'every instance must share one replay cache: STORE=redis with the same REDIS_URL'
        : 'expected 400 invalid_dpop_proof',
    });
  }

  // 7. A proof for another URL (RFC 9449 §4.3 check 9).
  const otherUrl = new URL('/not-the-token-endpoint', tokenUrl).href;
  const otherProof = await makeProof(key, {
    method: 'POST',
    url: otherUrl,
    iat: Math.floor(now() / 1000),
    ...(nonces.has(tokenUrl) ? { nonce: nonces.get(tokenUrl)! } : {}),
  });
  const wrongHtu = await send(tokenUrl, tokenRequest(otherProof), timeoutMs);
  if (wrongHtu.status === 400 && wrongHtu.error === 'invalid_dpop_proof') {
    record({ name: 'htu', status: 'pass', detail: `a proof for ${otherUrl} is refused: ${summary(wrongHtu)}` });
  } else {
    record({
      name: 'htu',
      status: 'fail',
      detail: `a proof for ${otherUrl} got ${summary(wrongHtu)}`,
      hint: wrongHtu.status === 200 ? 'the server does not check htu' : 'expected 400 invalid_dpop_proof',
    });
  }
  return results;
}
