import { connect, type Socket } from 'node:net';

/** One HTTP/1.1 response as read from a socket. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** How a connection ended: `ended` is a clean close (FIN) by the server, `error` a reset or other failure. */
export interface RawClose {
  ended: boolean;
  error: string | undefined;
  /** Milliseconds from connect to close. */
  afterMs: number;
}

/**
 * A raw TCP connection to the server, to send exactly the bytes a test needs (a slowloris, a
 * 20 KiB header) and read back complete responses and how the connection closes.
 */
export class RawConnection {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private ended = false;
  private error: string | undefined;
  readonly closed: Promise<RawClose>;

  private constructor(
    readonly socket: Socket,
    openedAt: number,
  ) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.error = error.code ?? error.message;
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.wake();
        resolve({ ended: this.ended, error: this.error, afterMs: Date.now() - openedAt });
      }),
    );
  }

  static open(port: number, localAddress = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', localAddress });
      const openedAt = Date.now();
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket, openedAt));
      });
    });
  }

  write(data: string): void {
    this.socket.write(data);
  }

  /** Everything received and not yet taken by response(). */
  pending(): string {
    return this.buffer;
  }

  /** The next complete response (by Content-Length); rejects if the connection closes first. */
  async response(timeoutMs = 10_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = takeResponse(this.buffer);
      if (parsed) {
        this.buffer = parsed.rest;
        return parsed.response;
      }
      if (this.socket.destroyed || this.ended)
        throw new Error(`connection closed before a complete response: ${JSON.stringify(this.buffer)}`);
      if (Date.now() > deadline) throw new Error(`no complete response in ${timeoutMs} ms: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends one request and reads its response. */
  async request(head: string, body = ''): Promise<RawResponse> {
    this.write(`${head}\r\n\r\n${body}`);
    return this.response();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}

function takeResponse(buffer: string): { response: RawResponse; rest: string } | undefined {
  const headEnd = buffer.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine = '', ...headerLines] = buffer.slice(0, headEnd).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const bodyStart = headEnd + 4;
  if (buffer.length < bodyStart + length) return undefined;
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]);
  return { response: { status, headers, body: buffer.slice(bodyStart, bodyStart + length) }, rest: buffer.slice(bodyStart + length) };
}

/** A GET with the Host header, as a kept-alive client sends it. */
export function get(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1`;
}
