import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, on, startFakeApi, type FakeApi } from './fake-api.js';

/** The bin as a process: exit codes must reach the shell, not just runCli's return value. */

const root = fileURLToPath(new URL('../../../', import.meta.url));
let api: FakeApi;

beforeAll(async () => {
  api = await startFakeApi();
});
afterAll(async () => {
  await api.close();
});

function rotor(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: root, env: { PATH: process.env.PATH ?? '', ...env } },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr }),
    );
  });
}

// A process that compiles TypeScript on start takes well under a second on an idle machine
// and many seconds on a busy one; the budget bounds a hang, it does not time the CLI.
describe('src/cli/main.ts', { timeout: 120_000 }, () => {
  it.each([
    ['a rotation that rolled back, watched', 3, ['status', 'rot-20261122-a1', '--watch']],
    ['a usage error', 2, ['status']],
  ])('%s exits the process with %i', async (_name, code, args) => {
    api.use(on('GET', '/api/rotations/rot-20261122-a1', { status: 200, body: fixture('rotation-rolled-back') }));
    const run = await rotor(args, { ROTOR_API_URL: api.url, NO_COLOR: '1' });
    expect(run.code).toBe(code);
    expect(run.stdout + run.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack traces
  });
});
