import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { answerAndClose, rawOAuthErrorResponse } from './raw-response.js';

/**
 * Requests Node's HTTP parser refuses before any route sees them (Fastify's
 * `clientErrorHandler`): headers over 16 KiB, malformed requests, requests not received in
 * time. Answered with an OAuth error body, then the connection is closed: after a parse
 * error or a timeout the rest of the byte stream cannot be trusted.
 */

interface Refusal {
  status: number;
  description: string;
}

function refusalFor(code: string | undefined): Refusal {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, description: 'request line and headers exceed 16 KiB' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, description: 'the request was not received in time' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, description: 'chunk extensions too large' };
    default:
      return { status: 400, description: 'malformed HTTP request' };
  }
}

/** The response in progress on a socket, if any (Node keeps it as `_httpMessage`). */
function responseInProgress(socket: Socket): { headersSent: boolean } | undefined {
  return (socket as Socket & { _httpMessage?: { headersSent: boolean } | null })._httpMessage ?? undefined;
}

const answered = new WeakSet<Socket>();

/** Fastify calls it bound to the instance, hence `this`. */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  // The peer is gone, or this socket was already answered and is closing.
  if (error.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
  answered.add(socket);
  const { status, description } = refusalFor(error.code);
  this.log.info(
    { clientError: { status, reason: error.code ?? 'parse' }, remoteAddress: socket.remoteAddress },
    `refused before routing: ${description}`,
  );
  // A response already on the wire cannot be followed by another one: just close.
  if (responseInProgress(socket)?.headersSent) {
    socket.destroy();
    return;
  }
  answerAndClose(socket, rawOAuthErrorResponse(status, 'invalid_request', description));
}
