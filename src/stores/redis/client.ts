import { Redis } from 'ioredis';
import { StoreUnavailableError } from '../ports.js';

/**
 * One Redis connection for every store. Commands fail at once while Redis is unreachable (no
 * offline queue, short timeout) so that requests fail closed instead of hanging.
 */
export function createRedisClient(url: string): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  // Connection errors surface where they matter: each failing command is logged and answered
  // 503 by the error handler, and /readyz reports 503. The client itself keeps reconnecting.
  client.on('error', () => {});
  return client;
}

/** Runs a Redis call; any failure becomes StoreUnavailableError (answered 503, logged). */
export async function guarded<T>(store: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new StoreUnavailableError(`${store}: ${(error as Error).message}`);
  }
}
