import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { decodeProtectedHeader } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { activateKey, addPublishedKey, retireKey } from '../../src/tokens/key-states.js';
import { generateSigningJwk } from '../../src/tokens/keys.js';
import { basicAuth, defaultTestClients, form, issuer, serviceClient, testClock, testUsers, type TestApp } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { codeExchange, signInAndConsent, tokenRequest } from '../helpers/flow.js';
import { makeProof, makeProofKey, type ProofKey } from '../helpers/dpop.js';

/**
 * app.reloadKeys() (what SIGHUP calls) on the real app with keys generated into its data
 * directory: the ID token side of rotation, discovery, and a reload that fails.
 */
type KeyFile = { keys: Array<Record<string, unknown>> };

describe('signing keys reloaded without a restart: ID tokens, discovery and a refused reload', () => {
  let t: TestApp;
  let keyFile: string;
  let logLines: () => Array<Record<string, unknown>>;
  let proofKey: ProofKey;

  const readKeys = (): KeyFile => JSON.parse(readFileSync(keyFile, 'utf8')) as KeyFile;
  const writeKeys = (keys: KeyFile['keys']) => writeFileSync(keyFile, JSON.stringify({ keys }));
  const kidOf = (token: string) => decodeProtectedHeader(token).kid;

  beforeEach(async () => {
    const clock = testClock(Date.now());
    let logged = '';
    const logStream = new Writable({
      write(chunk, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'dpop-oidc-key-reload-'));
    keyFile = join(dataDir, 'signing-keys.json');
    const config = parseConfig({ issuer, logLevel: 'info', dataDir, clients: defaultTestClients(), users: await testUsers() });
    const app = await buildApp({ config, clock, logStream });
    t = { app, clock, logs: () => logged };
    logLines = () =>
      logged
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    proofKey = await makeProofKey();
  });
  afterEach(async () => t.app.close());

  async function userTokens(): Promise<{ access_token: string; id_token: string; refresh_token: string }> {
    const { code, verifier } = await signInAndConsent(new Browser(t.app));
    const response = await tokenRequest(t, codeExchange(code, verifier), proofKey);
    expect(response.statusCode).toBe(200);
    return response.json();
  }

  const logout = (idToken: string) =>
    t.app.inject({ method: 'GET', url: `/oidc/logout?${new URLSearchParams({ id_token_hint: idToken })}` });
  const idTokenAlgs = async () =>
    (await t.app.inject({ method: 'GET', url: '/oidc/.well-known/openid-configuration' })).json()
      .id_token_signing_alg_values_supported as string[];

  it('an ID token signed before a rotation stays a valid id_token_hint until its key is retired; new ID tokens carry the new kid', async () => {
    const oldKid = readKeys().keys[0]!.kid as string;
    const before = await userTokens();
    expect(kidOf(before.id_token)).toBe(oldKid);

    const next = (await generateSigningJwk('RS256')) as Record<string, unknown>;
    writeKeys(addPublishedKey(readKeys().keys, next, keyFile));
    await expect(t.app.reloadKeys()).resolves.toBe(true);
    expect(await idTokenAlgs()).toEqual(['ES256', 'RS256']);
    writeKeys(activateKey(readKeys().keys, undefined, keyFile).keys);
    await expect(t.app.reloadKeys()).resolves.toBe(true);
    expect(await idTokenAlgs()).toEqual(['RS256', 'ES256']);

    const refreshed = await tokenRequest(
      t,
      { grant_type: 'refresh_token', refresh_token: before.refresh_token, client_id: 'spa' },
      proofKey,
    );
    expect(refreshed.statusCode).toBe(200);
    expect(kidOf(refreshed.json().id_token)).toBe(next.kid);
    expect(decodeProtectedHeader(refreshed.json().id_token).alg).toBe('RS256');
    expect(kidOf(refreshed.json().access_token)).toBe(next.kid);
    // The old ID token is still ours: the confirmation page, not the error page.
    expect((await logout(before.id_token)).statusCode).toBe(200);

    writeKeys(retireKey(readKeys().keys, oldKid, keyFile));
    await expect(t.app.reloadKeys()).resolves.toBe(true);
    const refused = await logout(before.id_token);
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('<code>invalid_request</code>');
    expect(await idTokenAlgs()).toEqual(['RS256']);
    const reloaded = logLines().filter((line) => line.msg === 'reloaded the signing keys and nonce secrets');
    expect(reloaded.map((line) => line.activeKid)).toEqual([oldKid, next.kid, next.kid]);
    expect(reloaded.at(-1)).toMatchObject({ level: 30, publishedKids: [], nonceSecrets: 1 });
  });

  it('a key file that does not load keeps the keys in use and logs one error line; the next good file is taken', async () => {
    const oldKid = readKeys().keys[0]!.kid as string;
    const good = readFileSync(keyFile, 'utf8');
    const second = { ...(await generateSigningJwk('ES256')), state: 'active' } as Record<string, unknown>;
    writeKeys([{ ...readKeys().keys[0]!, state: 'active' }, second]);
    await expect(t.app.reloadKeys()).resolves.toBe(false);
    writeFileSync(keyFile, '{"keys": [');
    await expect(t.app.reloadKeys()).resolves.toBe(false);
    const errors = logLines().filter((line) => line.level === 50);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({
      msg: 'reload refused: the signing keys and nonce secrets in use are kept',
      reason: `signing key set ${keyFile}: 2 keys have state "active" (${oldKid}, ${String(second.kid)}); exactly one signs, mark the others "published"`,
    });
    expect(errors[1]!.reason).toMatch(new RegExp(`^${keyFile}: not JSON: `));

    const jwks = await t.app.inject({ method: 'GET', url: '/oidc/jwks' });
    expect(jwks.json().keys.map((key: { kid: string }) => key.kid)).toEqual([oldKid]);
    const { code, verifier } = await signInAndConsent(new Browser(t.app));
    const tokens = await tokenRequest(t, codeExchange(code, verifier), proofKey);
    expect(tokens.statusCode).toBe(200);
    expect(kidOf(tokens.json().access_token)).toBe(oldKid);

    writeFileSync(keyFile, good);
    await expect(t.app.reloadKeys()).resolves.toBe(true);
  });

  it('activating a key that was never published, or dropping the signing key, is taken but logged as a warning', async () => {
    const oldKid = readKeys().keys[0]!.kid as string;
    const unpublished = { ...(await generateSigningJwk('ES256')), state: 'active' } as Record<string, unknown>;
    writeKeys([unpublished]);
    await expect(t.app.reloadKeys()).resolves.toBe(true);
    const warning = logLines().find((line) => line.level === 40);
    expect(warning).toMatchObject({ msg: 'reloaded the signing keys and nonce secrets', activeKid: unpublished.kid });
    expect(warning!.warnings).toEqual([
      `the active key ${String(unpublished.kid)} was not published before: whoever cached the JWKS refuses its tokens until they fetch it again (generate, reload, wait, then rotate)`,
      `the key that signed until now (${oldKid}) is gone: the tokens it signed no longer verify`,
    ]);
  });
});

describe('the nonce secret from the config rotates on reload: publish the new one, then issue with it', () => {
  const oldSecret = 'old-nonce-secret-0123456789abcdef-0123456';
  const newSecret = 'new-nonce-secret-0123456789abcdef-0123456';

  it('dpop.previousNonceSecret first accepts the next secret, then (swapped) the former one; an invalid config is refused and changes nothing', async () => {
    const clock = testClock(Date.now());
    const dataDir = mkdtempSync(join(tmpdir(), 'dpop-oidc-nonce-reload-'));
    const raw = {
      issuer,
      logLevel: 'silent',
      dataDir,
      clients: defaultTestClients(),
      users: await testUsers(),
      dpop: { nonceSecret: oldSecret },
    };
    const app = await buildApp({ config: parseConfig(raw), clock });
    const proofKey = await makeProofKey();
    const token = async (nonce?: string) =>
      app.inject({
        method: 'POST',
        url: '/oidc/token',
        headers: {
          ...form,
          authorization: basicAuth('nonce-client', serviceClient.secret),
          dpop: await makeProof(proofKey, { htu: `${issuer}/token`, iat: clock() / 1000, ...(nonce ? { nonce } : {}) }),
        },
        payload: 'grant_type=client_credentials',
      });
    const withSecrets = (dpop: Record<string, string>) => () => parseConfig({ ...raw, dpop });
    try {
      const challenge = await token();
      expect(challenge.statusCode).toBe(400);
      const oldNonce = String(challenge.headers['dpop-nonce']);

      // Step 1: every instance accepts the new secret, all still issue with the old one.
      await expect(app.reloadKeys(withSecrets({ nonceSecret: oldSecret, previousNonceSecret: newSecret }))).resolves.toBe(true);
      const step1 = await token(oldNonce);
      expect(step1.statusCode).toBe(200);
      expect(step1.headers['dpop-nonce']).toBe(oldNonce);

      // Step 2: issue with the new secret; the old one's nonces still pass.
      await expect(app.reloadKeys(withSecrets({ nonceSecret: newSecret, previousNonceSecret: oldSecret }))).resolves.toBe(true);
      const step2 = await token(oldNonce);
      expect(step2.statusCode).toBe(200);
      const newNonce = String(step2.headers['dpop-nonce']);
      expect(newNonce).not.toBe(oldNonce);

      await expect(
        app.reloadKeys(() => {
          throw new ConfigError('invalid configuration in /config.json:\n  - dpop.nonceSecret: Too small');
        }),
      ).resolves.toBe(false);
      expect((await token(oldNonce)).statusCode).toBe(200);

      // Step 3: the old secret is gone.
      await expect(app.reloadKeys(withSecrets({ nonceSecret: newSecret }))).resolves.toBe(true);
      const refused = await token(oldNonce);
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({ error: 'use_dpop_nonce', error_description: 'DPoP proof nonce is invalid or stale' });
      expect((await token(newNonce)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
