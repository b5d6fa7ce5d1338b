import { isSecretValue, REDACTED } from '../secrecy/secret-value.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * Structured log used across Rotor. Fields are data, not interpolated text, so
 * a value wrapped in `SecretValue` is redacted wherever it sits, and field names
 * that smell of secrets (`password`, `value`, `key`, ...) are redacted too as a
 * second line of defence (I5).
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LogRecord {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export type LogSink = (record: LogRecord) => void;

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const SENSITIVE_FIELD = /^(value|secret|secretValue|password|passwd|pwd|token|accessToken|key|accountKey|sharedAccessKey|sas|sasUrl|connectionString|credential|clientSecret)$/i;

function sanitize(input: unknown, depth: number): unknown {
  if (isSecretValue(input)) return REDACTED;
  if (input instanceof Error) {
    return { name: input.name, message: input.message, ...('code' in input ? { code: (input as { code: unknown }).code } : {}) };
  }
  if (input === null || typeof input !== 'object') return input;
  if (depth > 4) return '[depth]';
  if (Array.isArray(input)) return input.map((item) => sanitize(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    out[key] = SENSITIVE_FIELD.test(key) ? REDACTED : sanitize(value, depth + 1);
  }
  return out;
}

/** Fields as they may be written anywhere: SecretValues and sensitive-named fields redacted. */
export function sanitizeFields(fields: LogFields | undefined): Readonly<Record<string, unknown>> {
  return (sanitize(fields ?? {}, 0) as Record<string, unknown>) ?? {};
}

export function createLogger(sink: LogSink, options: { level?: LogLevel; fields?: LogFields } = {}): Logger {
  const threshold = order[options.level ?? 'info'];
  const base = options.fields ?? {};
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (order[level] < threshold) return;
    sink({ level, message, fields: sanitizeFields({ ...base, ...fields }) });
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(sink, { level: options.level ?? 'info', fields: { ...base, ...fields } }),
  };
}

/** One JSON line per record on stdout/stderr: what Application Insights and `npm start` read. */
export const jsonLineSink: LogSink = (record) => {
  const line = JSON.stringify({ time: new Date().toISOString(), level: record.level, msg: record.message, ...record.fields });
  if (record.level === 'error' || record.level === 'warn') process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
};

/** Collects records in memory; tests scan them for leaked values. */
export function createMemorySink(): LogSink & { readonly records: LogRecord[] } {
  const records: LogRecord[] = [];
  const sink = ((record: LogRecord) => {
    records.push(record);
  }) as LogSink & { records: LogRecord[] };
  sink.records = records;
  return sink;
}
