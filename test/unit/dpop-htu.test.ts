import { describe, expect, it } from 'vitest';
import { normalizeHtu } from '../../src/dpop/htu.js';

/** RFC 9449 §4.3 check 9: htu compared after RFC 3986 §6.2.2 and §6.2.3 normalisation, without query and fragment. */

describe('normalizeHtu: syntax-based normalisation (RFC 3986 §6.2.2)', () => {
  it.each([
    ['keeps a normal URL as it is', 'https://server.example.com/token', 'https://server.example.com/token'],
    ['lower-cases the scheme (§6.2.2.1)', 'HTTPS://server.example.com/token', 'https://server.example.com/token'],
    ['lower-cases the host (§6.2.2.1)', 'https://Server.EXAMPLE.com/token', 'https://server.example.com/token'],
    ['keeps the case of the path', 'https://server.example.com/Token/ABC', 'https://server.example.com/Token/ABC'],
    [
      'decodes percent-encoded unreserved letters (§6.2.2.2)',
      'https://server.example.com/%74%6F%6B%65%6E',
      'https://server.example.com/token',
    ],
    [
      'decodes percent-encoded unreserved digits, "-", ".", "_", "~"',
      'https://server.example.com/a%31%2D%2E%5F%7E',
      'https://server.example.com/a1-._~',
    ],
    [
      'upper-cases the hex digits of kept percent-encodings (§6.2.2.1)',
      'https://server.example.com/a%2fb%3a',
      'https://server.example.com/a%2Fb%3A',
    ],
    ['keeps an encoded "/" encoded: it is reserved', 'https://server.example.com/a%2Fb', 'https://server.example.com/a%2Fb'],
    ['removes "." segments (§6.2.2.3)', 'https://server.example.com/./a/./token', 'https://server.example.com/a/token'],
    ['removes ".." segments (§6.2.2.3)', 'https://server.example.com/a/b/../../token', 'https://server.example.com/token'],
    ['does not climb above the root', 'https://server.example.com/../../token', 'https://server.example.com/token'],
    [
      'treats percent-encoded dot segments as dot segments',
      'https://server.example.com/a/%2e%2E/token',
      'https://server.example.com/token',
    ],
  ])('%s', (_name, input, expected) => {
    expect(normalizeHtu(input)).toBe(expected);
  });
});

describe('normalizeHtu: scheme-based normalisation (RFC 3986 §6.2.3)', () => {
  it.each([
    ['drops the default https port :443', 'https://server.example.com:443/token', 'https://server.example.com/token'],
    ['drops the default http port :80', 'http://server.example.com:80/token', 'http://server.example.com/token'],
    ['drops an empty port', 'https://server.example.com:/token', 'https://server.example.com/token'],
    ['keeps a non-default port', 'https://server.example.com:8443/token', 'https://server.example.com:8443/token'],
    ['keeps :443 on http, where it is not the default', 'http://server.example.com:443/token', 'http://server.example.com:443/token'],
    ['gives an empty path "/"', 'https://server.example.com', 'https://server.example.com/'],
  ])('%s', (_name, input, expected) => {
    expect(normalizeHtu(input)).toBe(expected);
  });
});

describe('normalizeHtu: the request URI without query and fragment (RFC 9449 §4.2)', () => {
  it.each([
    ['drops the query', 'https://server.example.com/token?a=b&c=d'],
    ['drops the fragment', 'https://server.example.com/token#section'],
    ['drops both', 'https://server.example.com/token?a=b#section'],
    ['drops an empty query', 'https://server.example.com/token?'],
  ])('%s', (_name, input) => {
    expect(normalizeHtu(input)).toBe('https://server.example.com/token');
  });
});

describe('normalizeHtu: only absolute http(s) URLs without userinfo', () => {
  it.each([
    ['a relative reference', '/token'],
    ['an empty string', ''],
    ['a non-http scheme', 'ftp://server.example.com/token'],
    ['a URN', 'urn:ietf:params:oauth:token'],
    ['userinfo with a password', 'https://user:pass@server.example.com/token'],
    ['userinfo with a user only', 'https://user@server.example.com/token'],
    ['garbage', 'not a url'],
  ])('answers null for %s', (_name, input) => {
    expect(normalizeHtu(input)).toBeNull();
  });

  it('maps URLs that differ only in normalisable ways to the same value', () => {
    const forms = [
      'https://server.example.com/token',
      'HTTPS://SERVER.EXAMPLE.COM:443/./x/../%74oken?q=1#f',
      'https://server.example.com:/token#',
    ];
    expect(new Set(forms.map(normalizeHtu))).toEqual(new Set(['https://server.example.com/token']));
  });
});
