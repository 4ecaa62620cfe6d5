import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Tests spawn and kill child processes and change process.env: isolate each file in a fork.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
