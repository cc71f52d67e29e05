import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    // A local three-node Redis Cluster (ports 7101-7103) for the tests that run the stores on it.
    globalSetup: ['test/setup/redis-cluster.ts'],
  },
});
