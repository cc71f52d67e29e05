import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { connectionKey } from '../../src/http/server-limits.js';

describe('connection key of http.maxConnectionsPerAddress', () => {
  it('counts an IPv4 address, plain or IPv4-mapped, as itself', () => {
    expect(connectionKey('203.0.113.7')).toBe('203.0.113.7');
    expect(connectionKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('counts an IPv6 address by its /64, since one host may use any address in it', () => {
    expect(connectionKey('2001:db8:0:1::1')).toBe('2001:db8:0:1::/64');
    expect(connectionKey('2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64');
    expect(connectionKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(connectionKey('::1')).toBe('0:0:0:0::/64');
    expect(connectionKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('http limits in the config', () => {
  it('has bounded defaults', () => {
    expect(parseConfig({}).http).toMatchObject({
      headersTimeoutMs: 15_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 72_000,
      maxConnectionsPerAddress: 128,
      maxConnections: 10_000,
      shutdownDrainMs: 25_000,
    });
    expect(parseConfig({ http: { port: 9000 } }).http.requestTimeoutMs).toBe(30_000);
  });

  it('refuses a headers timeout longer than the request timeout (Node refuses it too)', () => {
    expect(() => parseConfig({ http: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } })).toThrow(
      'http.headersTimeoutMs: must not exceed http.requestTimeoutMs',
    );
  });

  it('takes each bound from the environment', () => {
    const config = loadConfig({
      HEADERS_TIMEOUT_MS: '1000',
      REQUEST_TIMEOUT_MS: '2000',
      KEEP_ALIVE_TIMEOUT_MS: '3000',
      MAX_CONNECTIONS_PER_ADDRESS: '0',
      MAX_CONNECTIONS: '500',
      SHUTDOWN_DRAIN_MS: '4000',
    });
    expect(config.http).toMatchObject({
      headersTimeoutMs: 1000,
      requestTimeoutMs: 2000,
      keepAliveTimeoutMs: 3000,
      maxConnectionsPerAddress: 0,
      maxConnections: 500,
      shutdownDrainMs: 4000,
    });
    expect(() => loadConfig({ REQUEST_TIMEOUT_MS: 'soon' })).toThrow('http.requestTimeoutMs');
  });
});
