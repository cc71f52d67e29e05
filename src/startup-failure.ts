import { ConfigError } from './config/load.js';

/**
 * Why the process could not start, as one line for stderr: what an operator acts on (the
 * message, the config file, the address), never a stack trace.
 */
export function startupFailureLine(error: unknown): string {
  // A config error already names the file and each offending field by its path.
  const message = error instanceof ConfigError ? error.message : describe(error);
  return `dpop-oidc failed to start: ${oneLine(message)}`;
}

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  address?: string;
  port?: number;
}

const listenProblems: Record<string, string> = {
  EADDRINUSE: 'the address is already in use',
  EACCES: 'permission denied (a port below 1024 needs privileges)',
  EADDRNOTAVAIL: 'the address is not on this machine',
};

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const system = error as SystemError;
  if (system.syscall === 'listen' && system.code) {
    const where = system.port !== undefined ? `${system.address ?? ''}:${system.port}` : (system.address ?? '');
    return `cannot listen on ${where}: ${listenProblems[system.code] ?? system.code} (${system.code})`;
  }
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message || error.name}${cause}`;
}

/** Joins a multi-line message (a heading and a list of config issues) into one line. */
function oneLine(message: string): string {
  const [heading = '', ...items] = message
    .split('\n')
    .map((line) => line.trim().replace(/^- /, ''))
    .filter(Boolean);
  return items.length ? `${heading} ${items.join('; ')}` : heading;
}
