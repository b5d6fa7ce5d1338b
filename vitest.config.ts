import { defineConfig } from 'vitest/config';

// Three projects with their own budgets. `npm test` runs all three; CI adds a
// JSON report (ROTOR_TEST_REPORT) that .ci/run turns into the closing count.
const report = process.env.ROTOR_TEST_REPORT;

export default defineConfig({
  test: {
    // Outside the Functions runtime @azure/functions warns that it is in test mode and skips each `app.*` registration:
    // true and expected in tests (the local host registers the exported options itself).
    onConsoleLog: (log) => !log.includes('"@azure/functions" package'),
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      // Heavy volume checks (`npm run test:scale`, run by .ci/run): only when asked for.
      ...(process.env.ROTOR_TEST_SCALE === '1'
        ? [{ test: { name: 'scale', include: ['test/scale/**/*.test.ts'], environment: 'node', testTimeout: 900_000, hookTimeout: 60_000 } }]
        : []),
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
