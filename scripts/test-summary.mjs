// Reads vitest's JSON reports and prints CI's closing line: "N passed, N failed[, N skipped]".
// A suite that failed to load counts as a failure even though it ran no test,
// and a missing report (typecheck or lint failed before vitest ran) counts as
// one failure, so neither can read as green.
import { readFileSync } from 'node:fs';

// Several reports (npm test, then the chaos suite) add up to one line.
let passed = 0;
let failed = process.argv.length > 2 ? 0 : 1;
let skipped = 0;
for (const path of process.argv.slice(2)) {
  try {
    const report = JSON.parse(readFileSync(path, 'utf8'));
    passed += report.numPassedTests ?? 0;
    failed += Math.max(report.numFailedTests ?? 0, report.numFailedTestSuites ?? 0, report.success === false ? 1 : 0);
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  } catch {
    failed += 1; // no report: the run never got to its tests
  }
}
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
