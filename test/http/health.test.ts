import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';

describe('GET /healthz', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.app.close());

  it('answers 200 with status ok and no-store', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('answers an unknown path with a 404 OAuth error, without its query', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/nope?access_token=secret' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'invalid_request', error_description: 'no endpoint at /nope' });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(t.logs()).not.toContain('secret');
  });
});
