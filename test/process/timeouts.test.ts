import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawConnection, get } from '../helpers/raw-http.js';
import { killServer, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

/**
 * A client that sends headers and never the body, or never finishes its headers, holds a
 * descriptor for as long as the server waits. Each phase is bounded (http.headersTimeoutMs,
 * http.requestTimeoutMs, http.keepAliveTimeoutMs): past it the client gets 408 and a close.
 */
// Wide enough that 60 connections are all open before the first is cut, on a loaded machine.
const headersTimeoutMs = 2000;
const requestTimeoutMs = 4000;
const keepAliveTimeoutMs = 800;

async function until(condition: () => boolean, attempts = 250): Promise<void> {
  for (let attempt = 0; attempt < attempts && !condition(); attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(condition()).toBe(true);
}

describe('request timeouts (slowloris)', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({
      HEADERS_TIMEOUT_MS: String(headersTimeoutMs),
      REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
      KEEP_ALIVE_TIMEOUT_MS: String(keepAliveTimeoutMs),
    });
  });
  afterAll(() => killServer(server));

  function expectTimeoutAnswer(pending: string): void {
    const [head = '', body = ''] = pending.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 408 /);
    expect(head.toLowerCase()).toContain('\r\nconnection: close');
    expect(head.toLowerCase()).toContain('\r\ncache-control: no-store');
    expect(head.toLowerCase()).toContain('\r\nx-content-type-options: nosniff');
    expect(JSON.parse(body)).toEqual({ error: 'invalid_request', error_description: 'the request was not received in time' });
  }

  it('answers 408 and closes 50 requests whose body never comes, and 10 whose headers never end, while /healthz still answers', async () => {
    const baseline = server.openDescriptors();
    const bodyless = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const connection = await RawConnection.open(server.port);
        connection.write(
          'POST /oidc/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type',
        );
        return connection;
      }),
    );
    const headless = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const connection = await RawConnection.open(server.port);
        connection.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
        return connection;
      }),
    );
    // The server holds a descriptor for each of them.
    await until(() => server.openDescriptors() >= baseline + 60);

    const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(health.status).toBe(200);

    const bodylessCloses = await Promise.all(bodyless.map((connection) => connection.closed));
    const headlessCloses = await Promise.all(headless.map((connection) => connection.closed));
    for (const close of [...bodylessCloses, ...headlessCloses]) {
      // A clean close after the answer, not a reset.
      expect(close).toMatchObject({ ended: true, error: undefined });
    }
    // Cut after the bound, not before it.
    for (const close of bodylessCloses) expect(close.afterMs).toBeGreaterThanOrEqual(requestTimeoutMs - 50);
    for (const close of headlessCloses) expect(close.afterMs).toBeGreaterThanOrEqual(headersTimeoutMs - 50);
    for (const connection of [...bodyless, ...headless]) expectTimeoutAnswer(connection.pending());

    const timeouts = () =>
      server.logLines().filter((line) => (line.clientError as { reason?: string } | undefined)?.reason === 'ERR_HTTP_REQUEST_TIMEOUT');
    await until(() => timeouts().length >= 60);
    expect(timeouts()).toHaveLength(60);
    expect(timeouts()[0]).toMatchObject({ clientError: { status: 408 }, remoteAddress: '127.0.0.1' });
    // The descriptors are given back.
    await until(() => server.openDescriptors() <= baseline + 2);
  });

  it('closes a connection that opens and sends nothing after the headers timeout', async () => {
    const connection = await RawConnection.open(server.port);
    const close = await connection.closed;
    expect(close).toMatchObject({ ended: true, error: undefined });
    expect(close.afterMs).toBeGreaterThanOrEqual(headersTimeoutMs - 50);
    expectTimeoutAnswer(connection.pending());
  });

  it('closes a kept-alive connection left idle after keepAliveTimeoutMs, without a response', async () => {
    const connection = await RawConnection.open(server.port);
    const response = await connection.request(get('/healthz'));
    expect(response.status).toBe(200);
    expect(response.headers.connection).toBe('keep-alive');
    const close = await connection.closed;
    expect(close).toMatchObject({ ended: true, error: undefined });
    expect(close.afterMs).toBeGreaterThanOrEqual(keepAliveTimeoutMs - 50);
    expect(connection.pending()).toBe('');
  });
});
