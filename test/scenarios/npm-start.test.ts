import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStackFile, type StackFile } from '../../src/local/stack-file.js';
// @ts-expect-error -- a plain .mjs script (it runs before anything is built)
import { build, needsBuild, stampPath } from '../../scripts/launch.mjs';

/**
 * `npm start` and `npm run rotor` as a user runs them: through npm, the
 * launcher and the built output, with `.rotor` in a temp directory
 * (ROTOR_STATE_DIR) so a stack the developer runs is never touched.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const state = mkdtempSync(join(tmpdir(), 'rotor-npm-start-'));
const env = { ...process.env, ROTOR_STATE_DIR: state, ROTOR_API_URL: '', ROTOR_API_KEY: '', NO_COLOR: '1' };
let first: ChildProcess;
let firstOutput = '';
let running: StackFile;

function npm(args: string[]): ChildProcess {
  return spawn('npm', args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

function finished(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, output })));
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 240_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; npm start said:\n${firstOutput}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  // One build up front (the launcher's own), so the processes below start from a fresh dist.
  if ((needsBuild() as boolean) && !(build() as boolean)) throw new Error('the build failed');
  first = npm(['start', '--', '--port', '0', '--no-demo']);
  first.stdout?.on('data', (c: Buffer) => (firstOutput += c.toString()));
  first.stderr?.on('data', (c: Buffer) => (firstOutput += c.toString()));
  running = await until('the stack file to say running', () => {
    const file = readStackFile(state);
    return file?.state === 'running' ? file : undefined;
  });
});

afterAll(() => {
  if (first.exitCode === null) first.kill('SIGKILL');
  if (running !== undefined && alive(running.pid)) process.kill(running.pid, 'SIGKILL');
  rmSync(state, { recursive: true, force: true });
});

describe('npm start as a process', () => {
  it('writes .rotor/stack.json with mode 0600, endpoints and the function key, and no other secret', async () => {
    const path = join(state, 'stack.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(running.api?.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
    const answer = await fetch(`${running.api!.baseUrl}/secrets`, { headers: { 'x-functions-key': running.api!.functionKey } });
    expect(answer.status).toBe(200);
    const text = JSON.stringify(running);
    expect(text).not.toMatch(/SharedAccessKey|AccountKey|topicKey|password/i);
    expect(running.logFile).toMatch(new RegExp(`^${state}/logs/rotor-.*-${running.pid}\\.log$`));
  });

  it('a second npm start says a stack is running and starts nothing', async () => {
    const second = await finished(npm(['start', '--', '--json']));
    expect(second.code).toBe(1);
    expect(second.output).toContain(`Rotor is already running here (pid ${running.pid}, API ${running.api!.baseUrl}), so no second stack was started.`);
    expect(readStackFile(state)?.pid).toBe(running.pid);
  });

  it('npm run rotor uses the running stack without a URL or key, and does not rebuild', async () => {
    const stampBefore = statSync(stampPath() as string).mtimeMs;
    const run = await finished(npm(['run', '--silent', 'rotor', '--', 'secrets']));
    expect(run.code).toBe(0);
    expect(run.output).toContain('No secrets carry a Rotor policy');
    expect(run.output).not.toContain('Building Rotor');
    expect(statSync(stampPath() as string).mtimeMs).toBe(stampBefore);
  });

  it('SIGTERM to the npm start process stops the whole stack and removes the stack file', async () => {
    const exited = finished(first);
    first.kill('SIGTERM');
    const { code } = await exited;
    await until('the stack process to be gone', () => (alive(running.pid) ? undefined : true), 60_000);
    // npm reports the signal it forwarded (128 + 15); the stack itself stopped cleanly (its file is gone).
    expect([0, 143]).toContain(code);
    expect(readStackFile(state)).toBeUndefined();
    await expect(fetch(`${running.api!.baseUrl}/secrets`)).rejects.toThrow();
  });
});
