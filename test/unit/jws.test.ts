import { compactVerify, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { signCompactJws } from '../../src/tokens/jws.js';
import { generateSigningJwks, signingKeysFromJwks } from '../../src/tokens/keys.js';

describe('signCompactJws: node:crypto signatures that jose verifies (RFC 7515 §7.1)', () => {
  it.each(['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'PS384', 'EdDSA'])('signs with %s', async (alg) => {
    const keys = await signingKeysFromJwks(await generateSigningJwks(alg));
    const token = signCompactJws({ typ: 'at+jwt' }, { sub: 'alice', n: 1, text: 'é "quoted"' }, keys.current);
    expect(decodeProtectedHeader(token)).toEqual({ typ: 'at+jwt', alg, kid: keys.current.kid });
    const publicKey = await importJWK(keys.publicJwks.keys[0]!, alg);
    const { payload } = await jwtVerify(token, publicKey, { algorithms: [alg], typ: 'at+jwt' });
    expect(payload).toEqual({ sub: 'alice', n: 1, text: 'é "quoted"' });
  });

  it('makes a signature that fails verification once the payload is changed', async () => {
    const keys = await signingKeysFromJwks(await generateSigningJwks('ES256'));
    const [header, , signature] = signCompactJws({}, { sub: 'alice' }, keys.current).split('.');
    const tampered = `${header}.${Buffer.from('{"sub":"mallory"}').toString('base64url')}.${signature}`;
    await expect(compactVerify(tampered, await importJWK(keys.publicJwks.keys[0]!, 'ES256'))).rejects.toThrow();
  });
});
