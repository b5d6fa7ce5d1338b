import { z } from 'zod';
import type { GlobalFlags } from './args.js';
import type { RotorApi } from './api-client.js';
import { UsageError } from './errors.js';
import type { StackFile } from '../local/stack-file.js';
import type { Style } from './render.js';

/** What the CLI runs with (from `runCli`'s caller) and what each command is handed: the API client, the output, where the connection came from. */

export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly fetch?: typeof globalThis.fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
  /** Per-request limit; defaults to REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs?: number;
  /** The running local stack (`.rotor/stack.json`), used when no URL is given. */
  readonly stackFile?: () => StackFile | undefined;
  /** Standard input, for `secrets set --value-stdin`. */
  readonly readStdin?: () => Promise<string>;
}

/** The local host's address (`npm start`), so a fresh clone needs no configuration. */
export const DEFAULT_API_URL = 'http://127.0.0.1:7071/api';
/** How often `--wait` and `--watch` read the rotation. */
export const POLL_INTERVAL_MS = 2000;

export const envSchema = z.object({
  ROTOR_API_URL: z.string().trim().min(1).optional().catch(undefined),
  ROTOR_API_KEY: z.string().min(1).optional().catch(undefined),
  NO_COLOR: z.string().optional(),
});

export interface Context {
  readonly api: RotorApi;
  readonly globals: GlobalFlags;
  readonly style: Style;
  readonly out: (line?: string) => void;
  /** Writes without a newline (the progress line redrawn in place). */
  readonly write: (text: string) => void;
  readonly stdoutIsTTY: boolean;
  readonly err: (line: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
  readonly apiUrl: string;
  readonly urlSource: ConnectionSource;
  readonly keySource: ConnectionSource | 'none';
  readonly stack: StackFile | undefined;
  readonly readStdin: () => Promise<string>;
}

/** Where the API URL or key came from, for hints that point at the right place. */
export type ConnectionSource = '--url' | '--key' | 'ROTOR_API_URL' | 'ROTOR_API_KEY' | '?code=' | 'stack' | 'default';

/**
 * The API to talk to: --url, else ROTOR_API_URL, else the running local
 * stack (`.rotor/stack.json`, with its key), else the local host's default.
 */
export function connection(
  globals: GlobalFlags,
  env: z.infer<typeof envSchema>,
  stack: StackFile | undefined,
): { baseUrl: URL; key: string | undefined; source: ConnectionSource; keySource: ConnectionSource | 'none' } {
  const fromStack = globals.url === undefined && env.ROTOR_API_URL === undefined ? stack?.api : undefined;
  const [text, source]: [string, ConnectionSource] =
    globals.url !== undefined
      ? [globals.url, '--url']
      : env.ROTOR_API_URL !== undefined
        ? [env.ROTOR_API_URL, 'ROTOR_API_URL']
        : fromStack !== undefined
          ? [fromStack.baseUrl, 'stack']
          : [DEFAULT_API_URL, 'default'];
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${source === 'default' ? 'the API URL' : source} must be a URL such as https://func-rotor.azurewebsites.net/api`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${source} must be an http:// or https:// URL`);
  // A URL copied from the portal may carry the key as `?code=`; it moves to the header.
  const code = url.searchParams.get('code') || undefined;
  const [key, keySource]: [string | undefined, ConnectionSource | 'none'] =
    globals.key !== undefined
      ? [globals.key, '--key']
      : env.ROTOR_API_KEY !== undefined
        ? [env.ROTOR_API_KEY, 'ROTOR_API_KEY']
        : code !== undefined
          ? [code, '?code=']
          : fromStack !== undefined
            ? [fromStack.functionKey, 'stack']
            : [undefined, 'none'];
  return { baseUrl: url, key, source, keySource };
}


export function printJson(ctx: Context, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2));
}
