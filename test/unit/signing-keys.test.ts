import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { signCompactJws } from '../../src/tokens/jws.js';
import { describe, expect, it } from 'vitest';
import { generateSigningJwks, loadSigningKeys, signingKeysFromJwks } from '../../src/tokens/keys.js';
import { loadNonceSecret } from '../../src/dpop/nonce-secret.js';

describe('signing keys', () => {
  it('generates a key into the data directory once and reuses it after a restart', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'dpop-oidc-keys-')), 'data');
    const first = await loadSigningKeys({ dataDir, algorithm: 'ES256' });
    const second = await loadSigningKeys({ dataDir, algorithm: 'ES256' });
    expect(second.current.kid).toBe(first.current.kid);
    expect(statSync(join(dataDir, 'signing-keys.json')).mode & 0o777).toBe(0o600);

    // A token signed before the restart verifies after it.
    const token = signCompactJws({}, { sub: 'x' }, first.current);
    await expect(jwtVerify(token, second.current.publicKey)).resolves.toBeTruthy();
  });

  it('publishes only public members, with kid, alg and use', async () => {
    const keys = await signingKeysFromJwks(await generateSigningJwks('ES256'));
    expect(Object.keys(keys.publicJwks.keys[0]!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  });

  it('loads a configured JWK set file: the first key signs, every key verifies', async () => {
    const a = await generateSigningJwks('ES256');
    const b = await generateSigningJwks('RS256');
    const file = join(mkdtempSync(join(tmpdir(), 'dpop-oidc-jwks-')), 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [...a.keys, ...b.keys] }));
    const keys = await loadSigningKeys({ jwksFile: file, dataDir: '/nonexistent', algorithm: 'ES256' });
    expect(keys.current.alg).toBe('ES256');
    expect(keys.algorithms).toEqual(['ES256', 'RS256']);
    expect(keys.publicJwks.keys).toHaveLength(2);
    expect(keys.publicJwks.keys[1]).not.toHaveProperty('d');
  });

  it('refuses a key set without alg or without private keys', async () => {
    const { keys } = await generateSigningJwks('ES256');
    const { alg: _alg, ...withoutAlg } = keys[0]!;
    await expect(signingKeysFromJwks({ keys: [withoutAlg] })).rejects.toThrow(/alg is required/);
    const { d: _d, ...publicOnly } = keys[0]!;
    await expect(signingKeysFromJwks({ keys: [publicOnly] })).rejects.toThrow(/private key is required/);
  });

  it('refuses an RSA key shorter than 2048 bits, whose tokens jose would not verify', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', kid: 'short' };
    await expect(signingKeysFromJwks({ keys: [jwk] })).rejects.toThrow('RS256 requires an RSA key of 2048 bits or more');
  });
});

describe('nonce secret', () => {
  it('prefers the configured secret (shared by every instance)', () => {
    expect(loadNonceSecret({ nonceSecret: 'x'.repeat(32), dataDir: '/nonexistent' }).toString()).toBe('x'.repeat(32));
  });

  it('generates a secret into the data directory once', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'dpop-oidc-nonce-')), 'data');
    const first = loadNonceSecret({ dataDir });
    expect(first).toHaveLength(32);
    expect(loadNonceSecret({ dataDir }).equals(first)).toBe(true);
  });
});
