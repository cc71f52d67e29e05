import { afterEach, describe, expect, it } from 'vitest';
import { RawConnection, get } from '../helpers/raw-http.js';
import { killServer, processClient, startServerProcess, waitForLog, type ServerProcess } from '../helpers/server-process.js';

/**
 * SIGTERM drains: no new connection is accepted, idle kept-alive connections are closed, a
 * request still arriving on an open connection is answered 503 `temporarily_unavailable`
 * with `Connection: close`, in-flight requests complete, and the process exits 0; after
 * http.shutdownDrainMs it exits 1 whatever is still open.
 */
const tokenBody = 'grant_type=client_credentials';
const tokenHead = [
  'POST /oidc/token HTTP/1.1',
  'Host: 127.0.0.1',
  `Authorization: Basic ${Buffer.from(`${processClient.id}:${processClient.secret}`).toString('base64')}`,
  'Content-Type: application/x-www-form-urlencoded',
  `Content-Length: ${tokenBody.length}`,
].join('\r\n');

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('shutdown on SIGTERM', () => {
  let server: ServerProcess | undefined;
  afterEach(() => killServer(server));

  it('completes the in-flight request, answers a late request 503 with Connection: close, closes idle connections, and exits 0', async () => {
    server = await startServerProcess({ SHUTDOWN_DRAIN_MS: '8000' });
    const port = server.port;

    // In flight: the token request's body is still arriving when the signal comes.
    const inFlight = await RawConnection.open(port);
    inFlight.write(`${tokenHead}\r\n\r\n${tokenBody.slice(0, 10)}`);
    // Idle: kept alive after a first response.
    const idle = await RawConnection.open(port);
    expect((await idle.request(get('/healthz'))).status).toBe(200);
    // Busy: a second request's headers have begun.
    const late = await RawConnection.open(port);
    late.write(`${get('/oidc/jwks')}\r\n`);
    await waitForLog(server, (line) => (line.req as { path?: string } | undefined)?.path === '/oidc/token');

    server.child.kill('SIGTERM');
    expect(await waitForLog(server, (line) => line.msg === 'shutting down')).toMatchObject({ signal: 'SIGTERM', drainMs: 8000 });

    // The idle connection is closed cleanly before any request is sent on it.
    expect(await idle.closed).toMatchObject({ ended: true, error: undefined });
    expect(idle.pending()).toBe('');
    // No new connection.
    await expect(RawConnection.open(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    late.write('\r\n');
    const refused = await late.response();
    expect(refused.status).toBe(503);
    expect(refused.headers).toMatchObject({ connection: 'close', 'cache-control': 'no-store' });
    expect(JSON.parse(refused.body)).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'the server is shutting down; send the request again',
    });
    expect(await late.closed).toMatchObject({ ended: true, error: undefined });

    await pause(100);
    inFlight.write(tokenBody.slice(10));
    const completed = await inFlight.response();
    expect(completed.status).toBe(200);
    expect(completed.headers.connection).toBe('close');
    expect(JSON.parse(completed.body)).toMatchObject({ token_type: 'Bearer', scope: 'api:read' });
    expect(await inFlight.closed).toMatchObject({ ended: true, error: undefined });

    expect(await server.exited).toBe(0);
    expect(server.logLines().some((line) => line.msg === 'stopped')).toBe(true);
    expect(server.stderr()).toBe('');
  });

  it('exits 1 once http.shutdownDrainMs has passed with a request still open', async () => {
    server = await startServerProcess({ SHUTDOWN_DRAIN_MS: '300', REQUEST_TIMEOUT_MS: '20000', HEADERS_TIMEOUT_MS: '10000' });
    const stuck = await RawConnection.open(server.port);
    stuck.write(`${tokenHead}\r\n\r\n${tokenBody.slice(0, 10)}`);
    await waitForLog(server, (line) => (line.req as { path?: string } | undefined)?.path === '/oidc/token');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(1);
    expect(server.logLines().find((line) => line.msg === 'drain time over: exiting with requests still open')).toMatchObject({
      level: 40,
      drainMs: 300,
    });
    stuck.destroy();
  });
});
