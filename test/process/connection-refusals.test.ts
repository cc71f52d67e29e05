import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawConnection, get, type RawResponse } from '../helpers/raw-http.js';
import { killServer, startServerProcess, waitForLog, type ServerProcess } from '../helpers/server-process.js';

/**
 * Refusals that never reach a route (Node's HTTP parser, the per-address connection bound)
 * are OAuth errors like every other, and say `Connection: close` before the server closes
 * (RFC 9112 §9.6), so a kept-alive client knows not to send on that connection again.
 */
function expectRefusal(response: RawResponse, status: number, error: string, description: string): void {
  expect(response.status).toBe(status);
  expect(response.headers).toMatchObject({
    connection: 'close',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-type': 'application/json; charset=utf-8',
  });
  expect(JSON.parse(response.body)).toEqual({ error, error_description: description });
}

describe("the HTTP parser's refusals", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess();
  });
  afterAll(() => killServer(server));

  it('answers a 20 KiB header with 431 invalid_request and closes the kept-alive connection cleanly', async () => {
    const connection = await RawConnection.open(server.port);
    expect((await connection.request(get('/healthz'))).status).toBe(200);
    const response = await connection.request(`${get('/healthz')}\r\nX-Padding: ${'a'.repeat(20 * 1024)}`);
    expectRefusal(response, 431, 'invalid_request', 'request line and headers exceed 16 KiB');
    expect(await connection.closed).toMatchObject({ ended: true, error: undefined });
    expect(connection.pending()).toBe('');
    const logged = await waitForLog(server, (line) => (line.clientError as { status?: number } | undefined)?.status === 431);
    expect(logged).toMatchObject({ clientError: { reason: 'HPE_HEADER_OVERFLOW' }, remoteAddress: '127.0.0.1' });
  });

  it('answers a 20 KiB URL with 431 invalid_request', async () => {
    const connection = await RawConnection.open(server.port);
    const response = await connection.request(get(`/oidc/authorize?state=${'s'.repeat(20 * 1024)}`));
    expectRefusal(response, 431, 'invalid_request', 'request line and headers exceed 16 KiB');
    expect(await connection.closed).toMatchObject({ ended: true, error: undefined });
  });

  it('answers a request line that is not HTTP with 400 invalid_request and closes', async () => {
    const connection = await RawConnection.open(server.port);
    const response = await connection.request('HELLO THERE');
    expectRefusal(response, 400, 'invalid_request', 'malformed HTTP request');
    expect(await connection.closed).toMatchObject({ ended: true, error: undefined });
    const logged = await waitForLog(server, (line) => (line.clientError as { status?: number } | undefined)?.status === 400);
    expect(logged).toMatchObject({ clientError: { reason: 'HPE_INVALID_METHOD' } });
  });

  it('answers a header with a forbidden character with 400 invalid_request', async () => {
    const connection = await RawConnection.open(server.port);
    const response = await connection.request(`${get('/healthz')}\r\nX-Bad\x01Name: 1`);
    expectRefusal(response, 400, 'invalid_request', 'malformed HTTP request');
    expect(await connection.closed).toMatchObject({ ended: true, error: undefined });
  });
});

describe('connections per client address (http.maxConnectionsPerAddress)', () => {
  const bound = 3;
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ MAX_CONNECTIONS_PER_ADDRESS: String(bound) });
  });
  afterAll(() => killServer(server));

  it('answers a connection beyond the bound with 429 and a close, while another address and the open connections are served', async () => {
    const held: RawConnection[] = [];
    for (let index = 0; index < bound; index++) {
      const connection = await RawConnection.open(server.port, '127.0.0.1');
      expect((await connection.request(get('/healthz'))).status).toBe(200);
      held.push(connection);
    }

    const beyond = await RawConnection.open(server.port, '127.0.0.1');
    beyond.write(`${get('/healthz')}\r\n\r\n`);
    const refused = await beyond.response();
    expectRefusal(refused, 429, 'temporarily_unavailable', 'too many open connections from this address');
    expect(refused.headers['retry-after']).toBe('1');
    expect(await beyond.closed).toMatchObject({ ended: true, error: undefined });
    const logged = await waitForLog(server, (line) => line.msg === 'connections refused: too many from one address');
    expect(logged).toMatchObject({ level: 40, address: '127.0.0.1' });

    const other = await RawConnection.open(server.port, '127.0.0.2');
    expect((await other.request(get('/healthz'))).status).toBe(200);
    for (const connection of held) expect((await connection.request(get('/healthz'))).status).toBe(200);

    // A closed connection frees its place.
    held.pop()!.destroy();
    let again: RawResponse | undefined;
    for (let attempt = 0; attempt < 50 && again?.status !== 200; attempt++) {
      const connection = await RawConnection.open(server.port, '127.0.0.1');
      again = await connection.request(get('/healthz'));
      held.push(connection);
    }
    expect(again?.status).toBe(200);
    for (const connection of [...held, other]) connection.destroy();
  });
});

describe('connections in all (http.maxConnections)', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ MAX_CONNECTIONS: '3' });
  });
  afterAll(() => killServer(server));

  it('closes a connection beyond the total bound at once, from any address, and logs it', async () => {
    const held = await Promise.all(['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((address) => RawConnection.open(server.port, address)));
    for (const connection of held) expect((await connection.request(get('/healthz'))).status).toBe(200);
    const beyond = await RawConnection.open(server.port, '127.0.0.4');
    beyond.write(`${get('/healthz')}\r\n\r\n`);
    const close = await beyond.closed;
    expect(close.error ?? 'ended').toMatch(/^(ended|ECONNRESET)$/);
    expect(beyond.pending()).toBe('');
    expect(await waitForLog(server, (line) => line.msg === 'connection limit reached: new connections are closed at once')).toMatchObject({
      level: 40,
    });
    for (const connection of held) connection.destroy();
  });
});
