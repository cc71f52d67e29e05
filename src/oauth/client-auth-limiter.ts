import { hash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { FailureCounter, FailureWindow } from '../stores/ports.js';
import { isPromise, type MaybePromise } from '../lib/maybe-promise.js';
import { tooManyRequests } from '../lib/oauth-error.js';

/**
 * Throttles client-secret guessing at the token, introspection and revocation endpoints.
 * Failures count against the caller's address, and a secret presented for a client_id counts
 * against that client_id too, whether the client exists or not, so the limiter answers the same
 * for both. While a key is at its limit every attempt for it is refused before any check, the
 * right secret included: answering the right one would let the guessing go on. Successes
 * neither count nor reset a count (a success on its own client must not buy an address more
 * guesses at others). Attempts without a secret (private_key_jwt, none) count and are refused
 * by address only: there is no secret to guess, and a client_id anyone can name must not be
 * lockable through them.
 */
export interface ClientAuthLimits {
  maxFailuresPerClient: number;
  maxFailuresPerAddress: number;
  windowSeconds: number;
}

export interface ClientAuthAttempt {
  /** The client_id a secret was presented for, as presented; undefined when no secret was. */
  secretClientId: string | undefined;
  /** The caller's address (Fastify's request.ip, after trustProxy); undefined counts nothing for it. */
  address: string | undefined;
}

function refuseWhenBlocked(keys: ReadonlyArray<{ max: number }>, windows: readonly FailureWindow[]): void {
  let resetInMs = 0;
  for (const [index, window] of windows.entries()) {
    if (window.count >= keys[index]!.max && window.resetInMs > resetInMs) resetInMs = window.resetInMs;
  }
  if (resetInMs > 0) {
    throw tooManyRequests('too many failed client authentications; try again later', 'client_auth_rate_limited', resetInMs / 1000);
  }
}

export class ClientAuthLimiter {
  constructor(
    private readonly counter: FailureCounter,
    private readonly limits: ClientAuthLimits,
  ) {}

  /** Throws 429 `client_auth_rate_limited` with Retry-After while any key of the attempt is at its limit. */
  assertAllowed(attempt: ClientAuthAttempt): MaybePromise<void> {
    const keys = this.keysOf(attempt);
    const windows = keys.map(({ key }) => this.counter.peek(key));
    // In memory the windows are there at once and the request goes on without yielding
    // (src/lib/maybe-promise.ts); from Redis both keys are asked at once, in one round trip.
    if (windows.some(isPromise)) {
      return Promise.all(windows.map((window) => Promise.resolve(window))).then((answered) => refuseWhenBlocked(keys, answered));
    }
    refuseWhenBlocked(keys, windows as FailureWindow[]);
  }

  async recordFailure(attempt: ClientAuthAttempt): Promise<void> {
    const windowMs = this.limits.windowSeconds * 1000;
    await Promise.all(this.keysOf(attempt).map(({ key }) => Promise.resolve(this.counter.hit(key, windowMs))));
  }

  private keysOf(attempt: ClientAuthAttempt): Array<{ key: string; max: number }> {
    const keys: Array<{ key: string; max: number }> = [];
    if (attempt.secretClientId !== undefined) {
      // Hashed: a presented client_id may be any length, and the key's size must not follow it.
      const id = hash('sha256', attempt.secretClientId, 'base64url');
      keys.push({ key: `client-auth:client:${id}`, max: this.limits.maxFailuresPerClient });
    }
    if (attempt.address !== undefined) {
      keys.push({ key: `client-auth:address:${addressBlock(attempt.address)}`, max: this.limits.maxFailuresPerAddress });
    }
    return keys;
  }
}

/**
 * The block an address is counted in: an IPv4 address itself, an IPv6 address by its /64 (the
 * usual smallest assignment to one subscriber, RFC 6177), which holds more addresses than
 * anyone could count one by one. An IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function addressBlock(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address)) return address;
  const bare = address.split('%')[0]!;
  if (!isIPv6(bare)) return address;
  return `${ipv6Groups(bare)
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, `::` expanded and a trailing IPv4 part converted. */
function ipv6Groups(address: string): number[] {
  let text = address;
  const ipv4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (ipv4) {
    const [a, b, c, d] = ipv4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, ipv4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const split = (part: string) => (part ? part.split(':') : []);
  const groups =
    tail === undefined
      ? split(head)
      : [...split(head), ...Array<string>(8 - split(head).length - split(tail).length).fill('0'), ...split(tail)];
  return groups.map((group) => parseInt(group, 16));
}
