import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { stateDir } from './stack-file.js';

/** `npm start` flags, as one line each in the usage text. */
export const startUsage = [
  'npm start [-- options]',
  '  --data-dir DIR   keep the vault, ledger, queues, ports and keys in DIR (default .rotor/data); a restart resumes rotations in flight',
  '  --fresh          delete what an earlier stack left in the data directory first',
  '  --no-demo        no demo secrets and consumer app',
  '  --json           one JSON line with every endpoint, key and connection string, then quiet',
  '  --port N         port of the Functions host (default: the one saved in the data directory, else 7071)',
].join('\n');

export interface StartOptions {
  readonly json: boolean;
  readonly demo: boolean;
  readonly port: number | undefined;
  readonly dataDir: string;
  readonly fresh: boolean;
}

export class StartUsageError extends Error {
  override readonly name = 'StartUsageError';
}

/** Parses `npm start`'s flags; a bad one is a `StartUsageError` with a one-line message (no parseArgs stack trace). */
export function parseStartOptions(args: readonly string[]): StartOptions {
  let values: { json?: boolean; 'no-demo'?: boolean; port?: string; 'data-dir'?: string; fresh?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        json: { type: 'boolean' },
        'no-demo': { type: 'boolean' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        fresh: { type: 'boolean' },
      },
    }));
  } catch (error) {
    // parseArgs' messages are one sentence plus a hint; keep the sentence.
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? error.message).replace(/\. To specify .*$/, '') : String(error);
    throw new StartUsageError(message, { cause: error });
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!/^\d+$/.test(values.port ?? '') || port > 65_535)) throw new StartUsageError(`--port must be a port number (0-65535), not '${values.port}'`);
  // Default `.rotor/data`, or `data` under ROTOR_STATE_DIR when that moves `.rotor`.
  const dataDir = values['data-dir'] ?? join(stateDir(), 'data');
  if (dataDir.trim() === '') throw new StartUsageError('--data-dir needs a directory');
  return { json: values.json ?? false, demo: !(values['no-demo'] ?? false), port, dataDir, fresh: values.fresh ?? false };
}
