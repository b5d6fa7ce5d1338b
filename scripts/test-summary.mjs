// Reads vitest's JSON reports (one per suite CI ran) and prints CI's closing line:
// "N passed, N failed[, N skipped]". A suite that failed to load counts as a failure
// even though it ran no test, and a missing report (typecheck or lint failed before
// vitest ran) counts as one failure, so neither can read as green.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    passed += report.numPassedTests ?? 0;
    failed += Math.max(report.numFailedTests ?? 0, report.numFailedTestSuites ?? 0, report.success === false ? 1 : 0);
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  } catch {
    failed += 1;
  }
}
if (process.argv.length <= 2) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
