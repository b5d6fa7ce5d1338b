import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createLogger, type LogLevel, type Logger } from '../observability/logger.js';

/**
 * The local stack's log: one JSON line per record in a file (the same lines
 * Application Insights gets in Azure), warnings and errors echoed to stderr
 * in a short form so a human at the terminal sees trouble as it happens.
 */
export function createFileLog(path: string, options: { readonly echoWarnings?: boolean; readonly level?: LogLevel } = {}): {
  readonly logger: Logger;
  readonly path: string;
  close(): void;
} {
  const absolute = resolve(path);
  mkdirSync(dirname(absolute), { recursive: true });
  const fd = openSync(absolute, 'a');
  let open = true;
  const logger = createLogger(
    (record) => {
      if (!open) return;
      writeSync(fd, `${JSON.stringify({ time: new Date().toISOString(), level: record.level, msg: record.message, ...record.fields })}\n`);
      if (options.echoWarnings === true && (record.level === 'warn' || record.level === 'error')) {
        const where = [record.fields.rotationId, record.fields.secretRef].filter((f) => typeof f === 'string').join(' ');
        process.stderr.write(`${record.level}: ${record.message}${where === '' ? '' : ` (${where})`}\n`);
      }
    },
    { level: options.level ?? 'info', fields: { app: 'rotor' } },
  );
  return {
    logger,
    path: absolute,
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}

/** Run logs kept per kind (`rotor`, `demo`); older ones are removed at start. */
export const KEPT_RUN_LOGS = 10;

/**
 * A new log file for this run: `<dir>/logs/<kind>-<UTC time>-<pid>.log`, so
 * runs never grow one file and two stacks never interleave. The oldest logs of
 * this kind beyond `KEPT_RUN_LOGS` are removed.
 */
export function runLogPath(dir: string, kind: string, now: Date = new Date(), pid: number = process.pid): string {
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const previous = readdirSync(logs)
    .filter((f) => f.startsWith(`${kind}-`) && f.endsWith('.log'))
    .sort();
  for (const old of previous.slice(0, Math.max(0, previous.length - (KEPT_RUN_LOGS - 1)))) rmSync(join(logs, old), { force: true });
  return join(logs, `${kind}-${stamp}-${pid}.log`);
}
