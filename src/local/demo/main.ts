/**
 * `npm run demo`: starts the local stack with the demo data and the
 * scenarios, and plays them through it, as an operator and as Key Vault would:
 *   1. an event-driven rotation (the seeded near-expiry secret),
 *   2. a manual rotation through the API,
 *   3. a rollback: the consumer of a secret rejects the new value,
 *   4. a duplicate of the first event, which starts nothing;
 *   5-6. consumers that adopt on the nudge (completes well before a 1-hour
 *        grace) or ignore it (rolls back, naming it);
 *   7. the same alternating PostgreSQL rotation with revoke on two logins:
 *      without `rotor-consumers` the revoke breaks their consumers (failed
 *      requests counted), with it no consumer request fails;
 * then rotates each scenario's secrets twice while their consumers run
 * (business events, SAS uploader, storage app, PostgreSQL app, webhook partner).
 * Prints a table for each; exits 0 only if every outcome was as expected (in
 * 7: the undeclared consumers did fail, the declared ones did not), no
 * scenario consumer request failed and no event was lost.
 */
import { join } from 'node:path';
import { openDataDir } from '../data-dir.js';
import { createFileLog, runLogPath } from '../file-log.js';
import { loadQuietly } from '../load-quietly.js';
import { stateDir } from '../stack-file.js';

const { startLocalStack } = await loadQuietly(() => import('../stack.js'));
const { runDemoScenario } = await import('./scenario.js');
const { runConsumersScenario } = await import('./consumers.js');
const { runRevokeScenario } = await import('./revoke-scenario.js');
const { renderScenarioTables, runScenarios } = await import('../scenarios/run.js');

const logs = createFileLog(runLogPath(stateDir(), 'demo'), { echoWarnings: false });
const startedAt = Date.now();
console.log('Starting Rotor locally (emulators, Azurite, PostgreSQL, the ARM/Graph stand-in, the Functions host, demo data)…');
// The demo starts from a fresh data directory and keeps its state there: `npm start` afterwards resumes what it left in flight.
const stack = await startLocalStack({ log: logs.logger, demo: true, port: 0, eventGridRetryTimeScale: 0.01, scenarios: 'seed', dataDir: openDataDir(join(stateDir(), 'data'), { fresh: true }) });
let ok = false;
try {
  console.log('Demo scenario (random rotator):');
  const [demo, consumers, revoke, outcomes] = await Promise.all([
    runDemoScenario(stack, (line) => console.log(`  ${line}`), 240_000),
    runConsumersScenario(stack, (line) => console.log(`  ${line}`), 240_000),
    runRevokeScenario(stack, (line) => console.log(`  ${line}`), 240_000),
    runScenarios(stack.scenarios?.scenarios() ?? [], { api: stack.endpoints().api, rounds: 2, timeoutMs: 240_000, say: (line) => console.log(line) }),
  ]);
  const results = [...demo, ...consumers, ...revoke.results];
  console.log('');
  const widths = [28, 28, 60, 6];
  const row = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 10)).join('  ').trimEnd();
  console.log(row(['Scenario', 'Expected', 'Observed', 'Result']));
  console.log(row(widths.map((w) => '-'.repeat(w))));
  for (const r of results) console.log(row([r.scenario, r.expected, r.observed, r.ok ? 'ok' : 'FAILED']));
  console.log('');
  for (const line of renderScenarioTables(outcomes)) console.log(line);
  ok = results.every((r) => r.ok) && outcomes.length > 0 && outcomes.every((o) => o.ok);
  console.log(
    ok
      ? `Every outcome was as expected: the only failed consumer requests were those of the consumers not declared in 7, and no event was lost (${Math.round((Date.now() - startedAt) / 1000)} s).`
      : `Some outcomes were not as expected; details in ${logs.path}`,
  );
} catch (error) {
  console.error(`The demo could not run: ${error instanceof Error ? error.message : String(error)} (details in ${logs.path})`);
} finally {
  await stack.stop();
  logs.close();
}
process.exit(ok ? 0 : 1);
