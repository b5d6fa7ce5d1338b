/**
 * `npm run demo`: starts the local stack with the demo data and plays a
 * scenario through it, as an operator and as Key Vault would:
 *   1. an event-driven rotation (the seeded near-expiry secret),
 *   2. a manual rotation through the API,
 *   3. a rollback: the consumer of a secret rejects the new value,
 *   4. a duplicate of the first event, which starts nothing.
 * Prints a summary table; exits 0 only if every outcome was as expected.
 */
import { createFileLog, runLogPath } from '../file-log.js';
import { stateDir } from '../stack-file.js';
import { loadQuietly } from '../load-quietly.js';

const { startLocalStack } = await loadQuietly(() => import('../stack.js'));
const { runDemoScenario } = await import('./scenario.js');

const logs = createFileLog(runLogPath(stateDir(), 'demo'), { echoWarnings: false });
console.log('Starting Rotor locally (emulators, Azurite, Functions host, demo data)…');
const stack = await startLocalStack({ log: logs.logger, demo: true, port: 0, eventGridRetryTimeScale: 0.01 });
let ok = false;
try {
  const results = await runDemoScenario(stack, (line) => console.log(line));
  console.log('');
  const widths = [28, 30, 38, 6];
  const row = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 10)).join('  ').trimEnd();
  console.log(row(['Scenario', 'Expected', 'Observed', 'Result']));
  console.log(row(widths.map((w) => '-'.repeat(w))));
  for (const r of results) console.log(row([r.scenario, r.expected, r.observed, r.ok ? 'ok' : 'FAILED']));
  ok = results.every((r) => r.ok);
  console.log('');
  console.log(ok ? 'Every outcome was as expected.' : `Some outcomes were not as expected; details in ${logs.path}`);
} catch (error) {
  console.error(`The demo could not run: ${error instanceof Error ? error.message : String(error)} (details in ${logs.path})`);
} finally {
  await stack.stop();
  logs.close();
}
process.exit(ok ? 0 : 1);
