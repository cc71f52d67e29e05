import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { signCompactJws } from '../../src/tokens/jws.js';
import { describe, expect, it } from 'vitest';
import { activateKey, addPublishedKey, retireKey } from '../../src/tokens/key-states.js';
import { generateSigningJwks, KeyRing, loadSigningKeys, signingKeysFromJwks } from '../../src/tokens/keys.js';
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

describe('key states in the key file: one active key signs, published keys verify', () => {
  const source = '/keys.json';
  const twoKeys = async () => [(await generateSigningJwks('ES256')).keys[0]!, (await generateSigningJwks('ES256')).keys[0]!];

  it('the key with state "active" signs wherever it is in the set; every key is published without its state', async () => {
    const [a, b] = await twoKeys();
    const keys = await signingKeysFromJwks(
      {
        keys: [
          { ...a, state: 'published' },
          { ...b, state: 'active' },
        ],
      },
      source,
    );
    expect(keys.current.kid).toBe(b!.kid);
    expect([...keys.byKid.keys()]).toEqual([a!.kid, b!.kid]);
    expect(keys.publicJwks.keys.map((jwk) => jwk.kid)).toEqual([a!.kid, b!.kid]);
    expect(keys.publicJwks.keys.every((jwk) => !('state' in jwk) && !('d' in jwk))).toBe(true);
  });

  it('a key without state beside keys with one is published, never signing by surprise', async () => {
    const [a, b] = await twoKeys();
    const keys = await signingKeysFromJwks({ keys: [a!, { ...b, state: 'active' }] }, source);
    expect(keys.current.kid).toBe(b!.kid);
  });

  it('lists the active key first in algorithms (id_token_signing_alg_values_supported)', async () => {
    const es = (await generateSigningJwks('ES256')).keys[0]!;
    const rs = (await generateSigningJwks('RS256')).keys[0]!;
    expect(
      (
        await signingKeysFromJwks({
          keys: [
            { ...es, state: 'published' },
            { ...rs, state: 'active' },
          ],
        })
      ).algorithms,
    ).toEqual(['RS256', 'ES256']);
  });

  it('refuses two active keys, no active key, or an unknown state, in one line naming the file', async () => {
    const [a, b] = await twoKeys();
    await expect(
      signingKeysFromJwks(
        {
          keys: [
            { ...a, state: 'active' },
            { ...b, state: 'active' },
          ],
        },
        source,
      ),
    ).rejects.toThrow(
      `signing key set /keys.json: 2 keys have state "active" (${a!.kid}, ${b!.kid}); exactly one signs, mark the others "published"`,
    );
    await expect(signingKeysFromJwks({ keys: [{ ...a, state: 'published' }, b!] }, source)).rejects.toThrow(
      'signing key set /keys.json: no key has state "active"; exactly one must sign (npm run keys -- rotate KID)',
    );
    await expect(signingKeysFromJwks({ keys: [{ ...a, state: 'retired' }] }, source)).rejects.toThrow(
      `signing key set /keys.json: key ${a!.kid} has state "retired"; use "active" or "published" (a retired key is removed)`,
    );
  });

  it('a reload (create: false) refuses a missing key file instead of generating a new key', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'dpop-oidc-keys-')), 'data');
    await expect(loadSigningKeys({ dataDir, algorithm: 'ES256', create: false })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('KeyRing: everything that reads it sees the replaced set at once', async () => {
    const first = await signingKeysFromJwks(await generateSigningJwks('ES256'));
    const second = await signingKeysFromJwks(await generateSigningJwks('ES256'));
    const ring = new KeyRing(first);
    expect(ring.current.kid).toBe(first.current.kid);
    ring.replace(second);
    expect(ring.current.kid).toBe(second.current.kid);
    expect(ring.snapshot).toBe(second);
    expect(ring.publicJwks).toBe(second.publicJwks);
    expect(ring.byKid.has(first.current.kid)).toBe(false);
  });
});

describe('key file edits: generate adds published, rotate activates the newest, retire removes a published key', () => {
  const source = '/keys.json';
  const key = (kid: string, state?: string) => ({ kid, kty: 'EC', ...(state ? { state } : {}) });

  it('generate: into an empty set the key is active; otherwise published, and every state is written out', () => {
    expect(addPublishedKey([], key('a'), source)).toEqual([key('a', 'active')]);
    expect(addPublishedKey([key('a'), key('b')], key('c'), source)).toEqual([
      key('a', 'active'),
      key('b', 'published'),
      key('c', 'published'),
    ]);
    expect(() => addPublishedKey([key('a')], key('a'), source)).toThrow('signing key set /keys.json: a key with kid a is already there');
  });

  it('rotate: the newest published key becomes active and the previous one stays published', () => {
    const rotated = activateKey([key('a', 'active'), key('b', 'published'), key('c', 'published')], undefined, source);
    expect(rotated).toEqual({ keys: [key('a', 'published'), key('b', 'published'), key('c', 'active')], activated: 'c', previous: 'a' });
  });

  it('rotate twice does not roll back: no published key newer than the active one is refused; naming a kid still works', () => {
    const keys = [key('a', 'published'), key('b', 'active')];
    expect(() => activateKey(keys, undefined, source)).toThrow(
      'signing key set /keys.json: no published key newer than the active key b; run generate first (or name an older one: rotate KID)',
    );
    expect(activateKey(keys, 'a', source).keys).toEqual([key('a', 'active'), key('b', 'published')]);
    expect(() => activateKey(keys, 'b', source)).toThrow('signing key set /keys.json: b is already the active key');
    expect(() => activateKey(keys, 'z', source)).toThrow('signing key set /keys.json: no key with kid z');
  });

  it('retire: removes a published key, refuses the active one and an unknown kid', () => {
    const keys = [key('a', 'published'), key('b', 'active')];
    expect(retireKey(keys, 'a', source)).toEqual([key('b', 'active')]);
    expect(() => retireKey(keys, 'b', source)).toThrow(
      'signing key set /keys.json: b is the active key; rotate to another key first, and retire b after its tokens have expired',
    );
    expect(() => retireKey(keys, 'z', source)).toThrow('signing key set /keys.json: no key with kid z');
  });
});
