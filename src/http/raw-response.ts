import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Responses written straight to a socket, for refusals that never reach a route (parser
 * errors, timeouts, connection bounds): the same OAuth JSON body and headers the error handler
 * gives, and `Connection: close` because the server closes next (RFC 9112 §9.6).
 */

export type RawErrorCode = 'invalid_request' | 'temporarily_unavailable';

export function rawOAuthErrorResponse(
  status: number,
  error: RawErrorCode,
  description: string,
  extraHeaders: Record<string, string> = {},
): string {
  const body = JSON.stringify({ error, error_description: description });
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    ...extraHeaders,
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** How long a refused socket may keep sending before it is destroyed. */
const lingerMs = 1000;

/**
 * Writes the response, then half-closes and keeps reading for a moment: closing with unread
 * bytes in the receive buffer sends a reset, which can discard the response before the client
 * reads it (RFC 9112 §9.6, "lingering close").
 */
export function answerAndClose(socket: Socket, response: string): void {
  if (socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(response);
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), lingerMs);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}
