import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/logger.js';

/** The lines a logger with the provider's options writes. */
function capture(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  let written = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      written += chunk.toString();
      done();
    },
  });
  return {
    logger: pino(loggerOptions('info'), stream),
    lines: () =>
      written
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('credentials are redacted from log lines', () => {
  const credentials = ['client_secret', 'client_assertion', 'password', 'access_token', 'refresh_token', 'id_token', 'code', 'token'];

  it.each(credentials)('redacts %s at the top of a line and in its oauthError', (name) => {
    const { logger, lines } = capture();
    logger.info(
      { [name]: 'the-credential', oauthError: { error: 'invalid_grant', reason: 'x', [name]: 'the-credential' } },
      'request completed',
    );
    expect(lines()).toEqual([
      expect.objectContaining({ [name]: '[redacted]', oauthError: { error: 'invalid_grant', reason: 'x', [name]: '[redacted]' } }),
    ]);
  });

  it('redacts the Authorization, DPoP and Cookie headers of a logged request', () => {
    const { logger, lines } = capture();
    logger.info(
      { req: { method: 'GET', url: '/oidc/profile', headers: { authorization: 'Basic c2VjcmV0', dpop: 'eyJ.a.b', cookie: 'sid=1' } } },
      'x',
    );
    expect(JSON.stringify(lines())).not.toMatch(/c2VjcmV0|eyJ|sid=1/);
  });

  it('keeps the fields of the request line as they are', () => {
    const { logger, lines } = capture();
    const line = {
      method: 'POST',
      route: '/oidc/token',
      status: 200,
      clientId: 'service',
      grantType: 'client_credentials',
      tokenType: 'DPoP',
    };
    logger.info(line, 'request completed');
    expect(lines()).toEqual([expect.objectContaining(line)]);
  });
});
