import { describe, expect, it } from 'vitest';
import { boundForDescription, boundForLog, boundValueForLog } from '../../src/lib/bounded.js';

describe('bounds on client-chosen strings echoed in logs and error descriptions', () => {
  it('keeps a short value as it is', () => {
    expect(boundForDescription('client_credentials')).toBe('client_credentials');
    expect(boundForLog('client_credentials')).toBe('client_credentials');
  });

  it('cuts a long value (48 characters in a description, 64 in a log) and says how many were cut', () => {
    expect(boundForDescription('x'.repeat(60_000))).toBe(`${'x'.repeat(48)}...(+59952)`);
    expect(boundForLog('x'.repeat(60_000))).toBe(`${'x'.repeat(64)}...(+59936)`);
    expect(boundForLog('y'.repeat(100), 10)).toBe(`${'y'.repeat(10)}...(+90)`);
  });

  it('never splits a surrogate pair', () => {
    const cut = boundForDescription(`${'a'.repeat(47)}😀😀`);
    expect(cut).toBe(`${'a'.repeat(47)}...(+4)`);
    expect(cut.charCodeAt(46)).toBe(0x61);
  });

  it('escapes control characters, line separators, bidi overrides and the backslash in logs', () => {
    expect(boundForLog('a\nb\r\x1b[31m\x7f\u0085')).toBe('a\\x0ab\\x0d\\x1b[31m\\x7f\\x85');
    expect(boundForLog('\u2028\u202e\ufeff')).toBe('\\u{2028}\\u{202e}\\u{feff}');
    expect(boundForLog('a\\x0a')).toBe('a\\\\x0a');
  });

  it('escapes after cutting, so that the result stays small whatever the input', () => {
    expect(boundForLog('\n'.repeat(10_000)).length).toBeLessThan(64 * 4 + 20);
  });

  it('bounds every string, key and collection of structured log detail', () => {
    const detail = boundValueForLog(
      { received: 'h'.repeat(1000), ['k'.repeat(100)]: 1, list: Array.from({ length: 20 }, () => 'v'), deep: { a: { b: { c: 'd' } } } },
      16,
    ) as Record<string, unknown>;
    expect(detail.received).toBe(`${'h'.repeat(16)}...(+984)`);
    expect(detail[`${'k'.repeat(64)}...(+36)`]).toBe(1);
    expect(detail.list).toEqual([...Array.from({ length: 16 }, () => 'v'), '...(+4)']);
    expect(detail.deep).toEqual({ a: { b: '[nested]' } });
  });

  it('keeps a key named __proto__ as a key', () => {
    const detail = boundValueForLog(JSON.parse('{"__proto__":{"polluted":1}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(detail)).toBe(Object.prototype);
    expect(Object.hasOwn(detail, '__proto__')).toBe(true);
  });
});
