import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuer, makeTestApp, type TestApp } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';
import { codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';

describe('profile claims of a signed-in user (OIDC Core §5.3, §5.4)', () => {
  let t: TestApp;
  let key: ProofKey;
  beforeAll(async () => {
    t = await makeTestApp();
    key = await makeProofKey();
  });
  afterAll(() => t.app.close());

  async function tokenFor(scope: string): Promise<string> {
    const { code, verifier } = await signInAndConsent(new Browser(t.app), { scope });
    const response = await tokenRequest(t, codeExchange(code, verifier), key);
    expect(response.statusCode).toBe(200);
    return response.json().access_token;
  }
  const profile = async (token: string) =>
    t.app.inject({
      method: 'GET',
      url: '/oidc/profile',
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await makeProof(key, { htm: 'GET', htu: `${issuer}/profile`, iat: t.clock() / 1000, accessToken: token }),
      },
    });

  it('returns only sub for the openid scope alone', async () => {
    const response = await profile(await tokenFor('openid'));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ sub: 'user-alice' });
  });

  it('adds email claims for the email scope, not profile claims', async () => {
    const response = await profile(await tokenFor('openid email'));
    expect(response.json()).toEqual({ sub: 'user-alice', email: 'alice@example.test', email_verified: true });
  });

  it('refuses a user token without openid with 403 insufficient_scope and a DPoP challenge', async () => {
    const response = await profile(await tokenFor('profile'));
    expect(response.statusCode).toBe(403);
    expect(response.json().error).toBe('insufficient_scope');
    expect(response.headers['www-authenticate']).toMatch(/^DPoP error="insufficient_scope", error_description="[^"]+", algs="/);
  });
});
