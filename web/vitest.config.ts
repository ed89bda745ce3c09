/** Unit tests of the console's pure logic (node environment, no DOM): `npx vitest run --config web/vitest.config.ts`. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['web/src/**/*.test.ts'],
    environment: 'node',
  },
});
