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

/**
 * `next` of the value: at once when it is there, after it when it is a promise. A thenable that
 * is not a native promise is adopted first, so the answer is always a real promise then.
 */
export function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return isPromise(value) ? Promise.resolve(value).then(next) : next(value);
}

/**
 * Runs `step`, turning a synchronous throw into a rejected promise: a function that answers at
 * once on success still refuses the way an async one does, so callers need one error path.
 */
export function rejectingThrows<T>(step: () => MaybePromise<T>): MaybePromise<T> {
  try {
    return step();
  } catch (error) {
    return Promise.reject(error);
  }
}
