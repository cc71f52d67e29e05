/**
 * A result that an in-memory adapter has at once and a Redis adapter later. On the request path
 * every `await` of a value that is already there still yields to the queue of other requests'
 * continuations; with 32 requests in flight that interleaving costs more than the work itself
 * (measured: 28 µs of a 245 µs introspection request for the one await of the client-auth
 * limiter, docs/performance.md). Callers await only what is a promise.
 */
export type MaybePromise<T> = T | Promise<T>;

/** Any thenable, as `await` would take it: an adapter's promise need not be a native one. */
export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}
