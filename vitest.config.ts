import { defineConfig } from 'vitest/config';

// Three projects with their own budgets. `npm test` runs all three; CI adds a
// JSON report (ROTOR_TEST_REPORT) that .ci/run turns into the closing count.
const report = process.env.ROTOR_TEST_REPORT;

// No test replaces a module (no vi.mock anywhere), so the files of a project share one module graph per
// worker: isolating each file re-imported Rotor, the SDKs and the emulators 144 times, about half of the
// suite's CPU time (unit: 52 → 20 CPU-s; integration + e2e: 165 → 97 CPU-s, measured 2026-12-05).
// Inline projects do not inherit the root's test options, so each one says it.
const isolate = false;

export default defineConfig({
  test: {
    // Outside the Functions runtime @azure/functions warns that it is in test mode and skips each `app.*` registration:
    // true and expected in tests (the local host registers the exported options itself).
    onConsoleLog: (log) => !log.includes('"@azure/functions" package'),
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
    // Vitest's default on 2 cores is one worker (cores − 1), so the e2e files, which mostly wait on
    // emulators and grace periods, ran one after another. Three workers overlap those waits.
    maxWorkers: 3,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          isolate,
          // A bound on a hang, not a speed check: the crash-replay suites run hundreds of rotations per
          // test and took over 5 s (the default) beside the e2e files on a busy machine.
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          isolate,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      // Heavy volume checks (`npm run test:scale`, run by .ci/run): only when asked for.
      ...(process.env.ROTOR_TEST_SCALE === '1'
        ? [{ test: { name: 'scale', include: ['test/scale/**/*.test.ts'], environment: 'node', isolate, testTimeout: 900_000, hookTimeout: 60_000 } }]
        : []),
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          isolate,
          // A bound on a hang: a crash-replay test runs one whole rotation per write against the emulators
          // (40 s for storage-sas alone on an idle machine, over 60 s beside other files on a busy one).
          testTimeout: 300_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
