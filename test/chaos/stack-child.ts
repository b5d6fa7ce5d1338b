/**
 * The stack the chaos suite kills: `startLocalStack` on a data directory,
 * with the random and PostgreSQL rotators, run as its own process
 * (`node --import tsx test/chaos/stack-child.ts <data-dir> <log-file>`).
 * Prints one JSON line with its endpoints once it serves; the parent kills it
 * with SIGKILL whenever it likes, before or after that line.
 */
import { createFileLog } from '../../src/local/file-log.js';
import { openDataDir } from '../../src/local/data-dir.js';
import { startLocalStack } from '../../src/local/stack.js';
import { createPostgresRotator } from '../../src/rotators/postgres/index.js';
import { createRandomRotator } from '../../src/rotators/random/random-rotator.js';

const [dataDirPath, logPath] = process.argv.slice(2);
if (dataDirPath === undefined || logPath === undefined) {
  console.error('usage: stack-child.ts <data-dir> <log-file>');
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
  ...(process.env.ROTOR_CHAOS_TIMERS === 'manual' ? { timers: 'manual' as const } : {}),
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
