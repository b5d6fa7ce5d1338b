import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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
