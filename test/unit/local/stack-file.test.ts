import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KEPT_RUN_LOGS, runLogPath } from '../../../src/local/file-log.js';
import { claimStackFile, readStackFile, stateDir } from '../../../src/local/stack-file.js';
// @ts-expect-error -- a plain .mjs script (it runs before anything is built); its two exports are checked here
import { needsBuild, stampPath } from '../../../scripts/launch.mjs';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-state-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('.rotor/stack.json', () => {
  it('is claimed with mode 0600, filled in, and removed on release', () => {
    // Prepare
    const dir = tempDir();
    // Act
    const claim = claimStackFile(dir);
    if (!claim.claimed) throw new Error('not claimed');
    claim.file.update({ state: 'running', api: { baseUrl: 'http://127.0.0.1:7071/api', functionKey: 'k' } });
    const read = readStackFile(dir);
    const mode = statSync(claim.file.path).mode & 0o777;
    claim.file.release();
    // Assess
    expect(read).toMatchObject({ pid: process.pid, state: 'running', api: { baseUrl: 'http://127.0.0.1:7071/api' } });
    expect(mode).toBe(0o600);
    expect(readStackFile(dir)).toBeUndefined();
  });

  it('a second claim while the first process runs is refused, naming it', async () => {
    // Prepare: a live process that "owns" the file
    const dir = tempDir();
    const owner = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const first = claimStackFile(dir, owner.pid);
      if (!first.claimed) throw new Error('not claimed');
      first.file.update({ state: 'running', api: { baseUrl: 'http://127.0.0.1:7071/api', functionKey: 'k' } });
      // Act
      const second = claimStackFile(dir);
      // Assess
      expect(second).toMatchObject({ claimed: false, running: { pid: owner.pid, api: { baseUrl: 'http://127.0.0.1:7071/api' } } });
    } finally {
      owner.kill();
      await new Promise((resolve) => owner.once('exit', resolve));
    }
  });

  it('a file left by a process that is gone is taken over', async () => {
    const dir = tempDir();
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => gone.once('exit', resolve));
    const stale = claimStackFile(dir, gone.pid);
    expect(stale.claimed).toBe(true);

    const claim = claimStackFile(dir);

    expect(claim.claimed).toBe(true);
    expect(readStackFile(dir)?.pid).toBe(process.pid);
  });

  it('lives in .rotor of the working directory unless ROTOR_STATE_DIR says otherwise', () => {
    expect(stateDir({}, '/work/app')).toBe('/work/app/.rotor');
    expect(stateDir({ ROTOR_STATE_DIR: '/tmp/x' }, '/work/app')).toBe('/tmp/x');
  });
});

describe('one log per run', () => {
  it('names each run its own file and keeps the newest few', () => {
    const dir = tempDir();
    const paths = Array.from({ length: KEPT_RUN_LOGS + 3 }, (_, i) => {
      const path = runLogPath(dir, 'rotor', new Date(Date.UTC(2026, 11, 4, 22, 0, i)), 1000 + i);
      writeFileSync(path, '{}\n');
      return path;
    });
    runLogPath(dir, 'demo', new Date(Date.UTC(2026, 11, 4, 23)), 1);

    const kept = readdirSync(join(dir, 'logs')).filter((f) => f.startsWith('rotor-'));

    expect(new Set(paths).size).toBe(paths.length);
    expect(kept).toHaveLength(KEPT_RUN_LOGS);
    expect(kept).toContain(paths.at(-1)!.split('/').at(-1));
    expect(kept).not.toContain(paths[0]!.split('/').at(-1));
  });
});

describe('the launcher (scripts/launch.mjs)', () => {
  it('builds when there is no stamp, not when dist is newer than every source, again when a source changes', () => {
    // Prepare: a tiny project tree
    const root = tempDir();
    mkdirSync(join(root, 'src', 'a'), { recursive: true });
    const source = join(root, 'src', 'a', 'x.ts');
    writeFileSync(source, 'export {};\n');
    const past = Date.now() / 1000 - 60;
    utimesSync(source, past, past);
    const first = needsBuild(root) as boolean;
    mkdirSync(join(root, 'dist'), { recursive: true });
    writeFileSync(stampPath(root) as string, 'built\n');

    // Act
    const fresh = needsBuild(root) as boolean;
    utimesSync(source, past + 120, past + 120);
    const edited = needsBuild(root) as boolean;

    // Assess
    expect([first, fresh, edited]).toEqual([true, false, true]);
  });
});
