import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';

describe('config: metrics', () => {
  it('defaults to /metrics on the main port, a separate listener on loopback when a port is given', () => {
    expect(parseConfig({}).metrics).toEqual({ enabled: true, host: '127.0.0.1' });
  });

  it('takes METRICS_ENABLED, METRICS_PORT and METRICS_HOST from the environment', () => {
    const config = loadConfig({
      CONFIG_FILE: 'config/default.json',
      METRICS_ENABLED: 'false',
      METRICS_PORT: '9464',
      METRICS_HOST: '0.0.0.0',
    });
    expect(config.metrics).toEqual({ enabled: false, port: 9464, host: '0.0.0.0' });
  });

  it('refuses a port that is not one', () => {
    expect(() => loadConfig({ CONFIG_FILE: 'config/default.json', METRICS_PORT: '70000' })).toThrow(/metrics\.port/);
  });
});
