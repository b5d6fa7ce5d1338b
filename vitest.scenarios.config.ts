import { defineConfig } from 'vitest/config';

// `npm run test:scenarios`: the local stack's scenarios end to end and `npm start` as a process.
// Heavy (PostgreSQL, two Azurites, real-time grace periods, a build), so not part of `npm test`;
// .ci/run runs it after `npm test`. Files run one after another to keep the machine's load bounded.
const report = process.env.ROTOR_TEST_REPORT;

export default defineConfig({
  test: {
    onConsoleLog: (log) => !log.includes('"@azure/functions" package'),
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
    include: ['test/scenarios/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 420_000,
  },
});
