import { defineConfig } from 'vitest/config';

// Suites too long for `npm test`'s budget (test/load/): `npm run test:load`, which .ci/run also runs.
const report = process.env.ROTOR_TEST_REPORT;

export default defineConfig({
  test: {
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
    include: ['test/load/**/*.test.ts'],
    environment: 'node',
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
