import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { walkthrough } from '../../examples/walkthrough.js';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { defaultTestClients, resourceServer, serviceClient, testSigningKeys } from '../helpers/app.js';
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
  });
});
