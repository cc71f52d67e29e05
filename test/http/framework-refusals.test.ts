import type { LightMyRequestResponse } from 'fastify';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, form, makeTestApp, serviceClient, type TestApp } from '../helpers/app.js';

/**
 * What Fastify refuses before a route runs (a body that does not parse, is too large or of an
 * unknown type, a path without a route, a method the path does not have) is answered like
 * every other refusal: an OAuth error body (RFC 6749 §5.2), `Cache-Control: no-store`,
 * `X-Content-Type-Options: nosniff`, and a `reason` in the log line.
 */

function expectOAuthRefusal(response: LightMyRequestResponse, status: number, description: string): void {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  expect(response.json()).toEqual({ error: 'invalid_request', error_description: description });
}

/** The log line of the last refusal: its OAuth error and reason. */
function lastRefusal(t: TestApp): { error: string; reason: string } {
  const lines = t
    .logs()
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { oauthError?: { error: string; reason: string } });
  const refusal = lines.reverse().find((line) => line.oauthError !== undefined);
  return refusal!.oauthError!;
}

describe("Fastify's own refusals are OAuth errors", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.app.close());

  it('answers a body that is not JSON with 400, closing the connection Fastify did not finish reading', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { 'content-type': 'application/json' },
      payload: '{bad',
    });
    expectOAuthRefusal(response, 400, 'the body is not valid JSON');
    expect(response.headers.connection).toBe('close');
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'malformed_body' });
  });

  it('answers a JSON body with a __proto__ member with 400, without quoting the body', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/introspect',
      headers: { 'content-type': 'application/json' },
      payload: '{"__proto__":{"admin":true}}',
    });
    expectOAuthRefusal(response, 400, 'the body is not valid JSON');
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'malformed_body' });
  });

  it('answers a parameter that fails its schema with 400 and reason schema', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/oidc/revoke', headers: form, payload: 'token=a&token=b' });
    expectOAuthRefusal(response, 400, 'invalid request parameter: body/token must be string');
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'schema' });
  });

  it('answers an unknown path with 404, a bounded description and no query (RFC 9110 §15.5.5)', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/${'p'.repeat(10_000)}?state=abc` });
    expectOAuthRefusal(response, 404, `no endpoint at /${'p'.repeat(47)}...(+9953)`);
    expect(response.headers.connection).not.toBe('close');
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'not_found' });
  });

  it.each([
    ['GET', '/oidc/token', 'POST'],
    ['GET', '/oidc/introspect', 'POST'],
    ['DELETE', '/oidc/revoke', 'POST'],
    ['PUT', '/oidc/profile', 'GET, HEAD, POST'],
    ['DELETE', '/oidc/jwks', 'GET, HEAD'],
  ])('answers %s %s with 405 and Allow: %s (RFC 9110 §15.5.6)', async (method, url, allow) => {
    const response = await t.app.inject({ method: method as 'GET', url });
    expectOAuthRefusal(response, 405, `method ${method} is not allowed here; use ${allow.split(', ').join(' or ')}`);
    expect(response.headers.allow).toBe(allow);
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'method' });
  });

  it('answers a wrong method on a browser form with an HTML page and Allow', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/oidc/login' });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('POST');
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.body).toContain('<code>invalid_request</code>');
  });

  it('answers a body over the limit with 413 and Connection: close (RFC 9112 §9.6)', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/oidc/token', headers: form, payload: `grant_type=${'x'.repeat(70_000)}` });
    expectOAuthRefusal(response, 413, 'the request body is too large');
    expect(response.headers.connection).toBe('close');
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'body_too_large' });
  });

  it('answers a body of an unknown content type with 415', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { 'content-type': 'application/xml' },
      payload: '<a/>',
    });
    expectOAuthRefusal(response, 415, 'the content type of the body is not supported');
    expect(lastRefusal(t)).toEqual({ error: 'invalid_request', reason: 'content_type' });
  });

  it('keeps the HTML page for a refusal on a browser form route', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/oidc/authorize',
      headers: { 'content-type': 'application/xml' },
      payload: '<a/>',
    });
    expect(response.statusCode).toBe(415);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.body).toContain('<code>invalid_request</code>');
  });

  it('sends nosniff on JSON success responses too', async () => {
    const token = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { ...form, authorization: basicAuth(serviceClient.id, serviceClient.secret) },
      payload: 'grant_type=client_credentials',
    });
    expect(token.statusCode).toBe(200);
    expect(token.headers['x-content-type-options']).toBe('nosniff');
    const discovery = await t.app.inject({ method: 'GET', url: '/oidc/.well-known/openid-configuration' });
    expect(discovery.headers['x-content-type-options']).toBe('nosniff');
  });
});

/** Sends raw bytes, returns what came back within `waitMs` and whether the server closed. */
function exchange(port: number, request: string, waitMs = 500): Promise<{ response: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    let closed = false;
    socket.on('data', (chunk) => (response += chunk.toString()));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    socket.write(request);
    setTimeout(() => {
      socket.destroy();
      resolve({ response, closed });
    }, waitMs);
  });
}

describe('on a real connection, a refusal that leaves the body unread closes (RFC 9112 §9.6)', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await makeTestApp({ logLevel: 'silent' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(() => t.app.close());

  it('says Connection: close and closes after a 415 sent before the body arrived', async () => {
    const { response, closed } = await exchange(
      port,
      'POST /oidc/token HTTP/1.1\r\nHost: op\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\n\r\n<a/>',
    );
    expect(response).toMatch(/^HTTP\/1\.1 415 /);
    expect(response).toMatch(/\r\nconnection: close\r\n/i);
    expect(response).toContain('"error":"invalid_request"');
    expect(closed).toBe(true);
  });

  it('says Connection: close and closes after a 413 announced by Content-Length', async () => {
    const { response, closed } = await exchange(
      port,
      'POST /oidc/token HTTP/1.1\r\nHost: op\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n\r\ngrant_type=',
    );
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response).toMatch(/\r\nconnection: close\r\n/i);
    expect(closed).toBe(true);
  });

  it('keeps the connection open after a 404 or 405 whose request had no body left to read', async () => {
    const { response, closed } = await exchange(port, 'GET /nope HTTP/1.1\r\nHost: op\r\n\r\nGET /oidc/token HTTP/1.1\r\nHost: op\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1\.1 404 /);
    expect(response).toMatch(/\r\n\r\n.*HTTP\/1\.1 405 /s);
    expect(response).not.toMatch(/connection: close/i);
    expect(closed).toBe(false);
  });
});
