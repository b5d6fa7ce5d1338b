import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: the process-level chaos suite (test/chaos), not part
// of `npm test`; .ci/run runs it after. ROTOR_CHAOS_SEED and ROTOR_CHAOS_KILLS
// are read by the suite.
const report = process.env.ROTOR_TEST_REPORT;

export default defineConfig({
  test: {
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
    include: ['test/chaos/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20 * 60_000,
    // beforeAll may compile dist/ for the chaos child (a minute or more on a busy machine).
    hookTimeout: 600_000,
  },
});
