import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { walkthrough } from '../../examples/walkthrough.js';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { defaultTestClients, resourceServer, serviceClient, testSigningKeys } from '../helpers/app.js';
import { listenDemoApp, runScript, type DemoApp } from '../helpers/demo-app.js';
import { freePort } from '../helpers/net.js';

describe('the README walk-through over a real socket', () => {
  let app: FastifyInstance;
  let issuer: string;

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}/oidc`;
    // Nonces required, so the walk-through's retry on use_dpop_nonce runs too.
    const config = parseConfig({ issuer, logLevel: 'silent', clients: defaultTestClients(), dpop: { requireNonce: true } });
    app = await buildApp({ config, signingKeys: await testSigningKeys(), nonceSecret: Buffer.alloc(32, 7) });
    await app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  it('gets a DPoP token, calls the profile endpoint and introspects the token', async () => {
    const result = await walkthrough({
      issuer,
      client: { id: serviceClient.id, secret: serviceClient.secret },
      resourceServer: { id: resourceServer.id, secret: resourceServer.secret },
    });
    expect(result.tokenType).toBe('DPoP');
    expect(result.profileStatus).toBe(200);
    expect(result.profile.sub).toBe(serviceClient.id);
    expect(result.introspection).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: result.jkt } });
    expect(result.cnf).toEqual({ jkt: result.jkt });
    expect(decodeJwt(result.accessToken).cnf).toEqual({ jkt: result.jkt });
  });
});

describe('npx tsx examples/walkthrough.ts', () => {
  let demo: DemoApp;
  beforeAll(async () => {
    demo = await listenDemoApp();
  });
  afterAll(() => demo.close());

  it('prints the access token and its cnf.jkt (the demo clients of config/default.json)', async () => {
    const result = await runScript('examples/walkthrough.ts', [], { env: { ISSUER: demo.url } });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const [tokenLine, jktLine] = result.stdout.split('\n');
    const accessToken = /^access token: (\S+)$/.exec(tokenLine ?? '')?.[1];
    expect(accessToken).toBeDefined();
    const { cnf } = decodeJwt(accessToken!) as { cnf: { jkt: string } };
    expect(jktLine).toBe(`cnf.jkt:      ${cnf.jkt} (the thumbprint of this run's key)`);
    expect(result.stdout).toContain('"sub": "demo-service"');
    expect(result.stdout).toContain('"active": true');
  });

  it('says in one line, not a stack, that nothing answers at the issuer', async () => {
    const issuer = `http://127.0.0.1:${await freePort()}/oidc`;
    const result = await runScript('examples/walkthrough.ts', [], { env: { ISSUER: issuer } });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `cannot reach ${issuer} (ECONNREFUSED): start the server first (npm start), or set ISSUER\n`,
    });
  });
});
