import { defineConfig } from 'vitest/config';

/**
 * Two groups, run one after the other: `unit` (files in parallel) and `e2e` (the whole product in
 * real Chromium, and suites that load real models: `test/e2e/**` and `*.e2e.test.ts` anywhere; one
 * file at a time, so two heavy stacks never share the 2 cores).
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 240_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['shared/src/**/*.test.ts', 'server/src/**/*.test.ts', 'bridge/src/**/*.test.ts', 'web/src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['test/e2e/**', '**/*.e2e.test.ts', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', '{shared,server,bridge,web,test}/**/*.e2e.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
