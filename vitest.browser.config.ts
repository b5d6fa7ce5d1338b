import { defineConfig } from 'vitest/config';

// The browser suite (`npm run test:browser`): a real Chromium (Debian's
// `chromium`, driven by playwright-core) against the whole local stack. Not
// part of `npm test`; .ci/run runs it after. ROTOR_TEST_REPORT adds a JSON
// report that .ci/run counts into its closing line.
const report = process.env.ROTOR_TEST_REPORT;

export default defineConfig({
  test: {
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
    include: ['test/browser/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One browser and one stack at a time: the suite is heavy and the machine is shared.
    fileParallelism: false,
  },
});
