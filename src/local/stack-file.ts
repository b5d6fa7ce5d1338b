import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/**
 * `.rotor/stack.json`: where a running `npm start` can be reached. Written
 * when the stack starts (mode 0600), removed when it stops. The `rotor` CLI
 * reads it when no URL is given, and a second `npm start` reads it to say a
 * stack is already running instead of starting another one.
 *
 * It holds endpoints and the local function key (what the CLI needs), never
 * a secret value, connection string or emulator key.
 */

/** The directory of the local stack's files: `.rotor` in the working directory, or `ROTOR_STATE_DIR`. */
export function stateDir(env: Readonly<Record<string, string | undefined>> = process.env, cwd: string = process.cwd()): string {
  const configured = env.ROTOR_STATE_DIR;
  return resolve(cwd, configured === undefined || configured.trim() === '' ? '.rotor' : configured);
}

export const STACK_FILE = 'stack.json';

export const stackFileSchema = z.object({
  pid: z.number().int().positive(),
  startedAt: z.string(),
  /** `starting` while the stack comes up (no endpoints yet), `running` after. */
  state: z.enum(['starting', 'running']),
  api: z.object({ baseUrl: z.string(), functionKey: z.string() }).optional(),
  keyVault: z.object({ url: z.string(), caCertPath: z.string().optional() }).optional(),
  eventGrid: z.object({ url: z.string() }).optional(),
  scenarios: z.array(z.object({ name: z.string(), secret: z.string(), rotator: z.string() })).optional(),
  logFile: z.string().optional(),
});
export type StackFile = z.infer<typeof stackFileSchema>;

/** Reads the stack file; `undefined` when there is none or it is unreadable. */
export function readStackFile(dir: string): StackFile | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, STACK_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = stackFileSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type StackClaim = { readonly claimed: true; readonly file: StackFileHandle } | { readonly claimed: false; readonly running: StackFile };

export interface StackFileHandle {
  readonly path: string;
  /** Replaces the file's content (atomically, mode 0600). */
  update(content: Omit<StackFile, 'pid' | 'startedAt'>): void;
  /** Removes the file if it is still this process's. */
  release(): void;
}

/**
 * Claims the stack file for this process: created exclusively, so of two
 * `npm start` at once only one goes on. A file left by a process that no
 * longer runs (killed with SIGKILL) is taken over.
 */
export function claimStackFile(dir: string, pid: number = process.pid): StackClaim {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, STACK_FILE);
  const startedAt = new Date().toISOString();
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${JSON.stringify({ pid, startedAt, state: 'starting' } satisfies StackFile)}\n`);
      closeSync(fd);
      return { claimed: true, file: handleFor(dir, path, pid, startedAt) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const existing = readStackFile(dir);
    if (existing !== undefined && existing.pid !== pid && isAlive(existing.pid)) return { claimed: false, running: existing };
    rmSync(path, { force: true });
  }
  throw new Error(`could not claim ${path}: another process keeps recreating it`);
}

function handleFor(dir: string, path: string, pid: number, startedAt: string): StackFileHandle {
  return {
    path,
    update(content) {
      const temporary = join(dir, `.${STACK_FILE}.${pid}.tmp`);
      const fd = openSync(temporary, 'w', 0o600);
      try {
        writeSync(fd, `${JSON.stringify({ pid, startedAt, ...content })}\n`);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, path);
    },
    release() {
      if (readStackFile(dir)?.pid === pid) rmSync(path, { force: true });
    },
  };
}
