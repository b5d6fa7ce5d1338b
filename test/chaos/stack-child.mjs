/**
 * The stack the chaos suite kills: `startLocalStack` on a data directory,
 * with the random and PostgreSQL rotators, run as its own process
 * (`node test/chaos/stack-child.mjs <data-dir> <log-file>`).
 * Prints one JSON line with its endpoints once it serves; the parent kills it
 * with SIGKILL whenever it likes, before or after that line.
 *
 * Plain JavaScript over the compiled `dist/` (the suite builds it first): a
 * start loads its modules in half the time it takes through tsx, and the
 * start is most of what each of the suite's hundreds of kills costs.
 */
import { createFileLog } from '../../dist/src/local/file-log.js';
import { openDataDir } from '../../dist/src/local/data-dir.js';
import { startLocalStack } from '../../dist/src/local/stack.js';
import { createPostgresRotator } from '../../dist/src/rotators/postgres/index.js';
import { createRandomRotator } from '../../dist/src/rotators/random/random-rotator.js';

const [dataDirPath, logPath] = process.argv.slice(2);
if (dataDirPath === undefined || logPath === undefined) {
  console.error('usage: stack-child.mjs <data-dir> <log-file>');
  process.exit(2);
}
const dataDir = openDataDir(dataDirPath);
const logs = createFileLog(logPath, { echoWarnings: false, level: 'info' });
const stack = await startLocalStack({
  log: logs.logger,
  demo: false,
  port: dataDir.identity.ports.host ?? 0,
  dataDir,
  rotators: [createRandomRotator(), createPostgresRotator({ connectTimeoutMs: 5_000 })],
  // Azure's minimum: a message locked by a killed stack comes back 5 s later, not 60.
  stepQueueLockDurationMs: 5_000,
  sweepSchedule: '*/5 * * * * *',
  // The suite's last start, for the checks: no sweep that could start a rotation while they read.
  ...(process.env.ROTOR_CHAOS_TIMERS === 'manual' ? { timers: 'manual' } : {}),
  // Six lock durations: a message lost to a kill (between a record and its send) is sent again by the sweep.
  stallAfter: 'PT30S',
  keyVaultThrottle: false,
  eventGridRetryTimeScale: 0.01,
});
const e = stack.endpoints();
process.stdout.write(
  `${JSON.stringify({ ready: true, pid: process.pid, api: e.api, keyVault: { url: e.keyVault.url, caCertPath: e.keyVault.caCertPath }, ledger: e.ledger, resumed: dataDir.resumed })}\n`,
);
process.on('SIGTERM', () => {
  void stack.stop().then(() => process.exit(0));
});
