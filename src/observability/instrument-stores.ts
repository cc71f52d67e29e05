import type { Stores } from '../stores/create-stores.js';
import { StoreUnavailableError } from '../stores/ports.js';
import type { AppMetrics, StoreOperationCells } from './metrics.js';

/**
 * The same stores, each port call timed into `store_operation_duration_seconds{store,operation}`
 * and each StoreUnavailableError counted in `store_errors_total`, whatever the adapter. Every
 * port of `Stores` and every method of a port is wrapped once, here: a port added later is
 * measured too. The wrapped port has the port's methods only, not the adapter's other members.
 */
export function instrumentStores(stores: Stores, metrics: AppMetrics): Stores {
  const instrumented: Record<string, unknown> = { ...stores };
  for (const [name, member] of Object.entries(stores)) {
    if (typeof member === 'object' && member !== null) instrumented[name] = instrumentPort(member, storeLabel(name), metrics);
  }
  return instrumented as unknown as Stores;
}

type PortMethod = (...args: unknown[]) => unknown;

function instrumentPort(port: object, store: string, metrics: AppMetrics): object {
  const wrapped: Record<string, PortMethod> = {};
  for (const name of methodNames(port)) {
    const method = (port as Record<string, PortMethod>)[name]!;
    // Made at the first call: an adapter's private helpers, never called from outside, show no series.
    let cells: StoreOperationCells | undefined;
    // An answer that is there at once (a memory adapter, MaybePromise) is passed on at once.
    wrapped[name] = (...args: unknown[]) => {
      cells ??= metrics.storeOperation(store, name);
      const timed = cells;
      const started = performance.now();
      const observe = () => timed.duration.observe((performance.now() - started) / 1000);
      const failed = (error: unknown) => {
        if (error instanceof StoreUnavailableError) timed.errors.inc();
        observe();
        throw error;
      };
      let result: unknown;
      try {
        result = method.apply(port, args);
      } catch (error) {
        // Thrown, not rejected, by an adapter method that is no async function: a rejection all the same.
        return Promise.reject(error).catch(failed);
      }
      if (result instanceof Promise) {
        return result.then((value: unknown) => {
          observe();
          return value;
        }, failed);
      }
      observe();
      return result;
    };
  }
  return wrapped;
}

/** Methods of an adapter: its own function members and its class's, up to Object. */
function methodNames(port: object): string[] {
  const names = new Set<string>();
  for (let level: object | null = port; level && level !== Object.prototype; level = Object.getPrototypeOf(level)) {
    for (const name of Object.getOwnPropertyNames(level)) {
      if (name === 'constructor' || names.has(name)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(level, name);
      if (descriptor && typeof descriptor.value === 'function') names.add(name);
    }
  }
  return [...names];
}

/** replayCache -> replay_cache */
function storeLabel(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
