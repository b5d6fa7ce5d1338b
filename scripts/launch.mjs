#!/usr/bin/env node
/**
 * `npm start`, `npm run demo` and `npm run rotor` go through this:
 *   exec node scripts/launch.mjs <dist entry> [args...]
 *
 * It compiles only when a source is newer than the last successful build
 * (so `npm run rotor -- …` answers at once after the first build), then runs
 * the entry in this same process. One process, and the script `exec`s it, so
 * a SIGTERM or SIGINT sent to `npm start` reaches the stack's own handlers;
 * the old `npm run build && node …` chain left a shell in between that died
 * and orphaned the stack on its ports.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What `tsc -p tsconfig.json` compiles, and the files that change its output. */
const sourceDirs = ['functions', 'src', 'emulators', 'examples'];
const sourceFiles = ['tsconfig.json', 'tsconfig.base.json', 'package.json'];
export const stampPath = (base = root) => join(base, 'dist', '.build-stamp');

function newestIn(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestIn(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Whether `dist/` is older than a source, or was never built by this launcher. */
export function needsBuild(base = root) {
  let built;
  try {
    built = statSync(stampPath(base)).mtimeMs;
  } catch {
    return true;
  }
  let newest = 0;
  for (const dir of sourceDirs) newest = Math.max(newest, newestIn(join(base, dir)));
  for (const file of sourceFiles) {
    try {
      newest = Math.max(newest, statSync(join(base, file)).mtimeMs);
    } catch {
      // absent: nothing to compare
    }
  }
  return newest > built;
}

/** Runs tsc; writes the stamp only when it succeeded, so a failed build is retried next time. */
export function build(base = root) {
  const startedAt = Date.now();
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  process.stderr.write('Building Rotor (sources changed since the last build)…\n');
  const result = spawnSync(process.execPath, [tsc, '-p', join(base, 'tsconfig.json')], { cwd: base, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) return false;
  mkdirSync(join(base, 'dist'), { recursive: true });
  writeFileSync(stampPath(base), `${new Date(startedAt).toISOString()}\n`);
  // Dated when the build began: a source saved while tsc ran is newer, so it is built next time.
  utimesSync(stampPath(base), startedAt / 1000, startedAt / 1000);
  return true;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [entry, ...args] = process.argv.slice(2);
  if (entry === undefined) {
    process.stderr.write('usage: node scripts/launch.mjs <dist entry> [args...]\n');
    process.exit(2);
  }
  if (needsBuild() && !build()) {
    process.stderr.write('The build failed (the TypeScript errors are above); nothing was started.\n');
    process.exit(1);
  }
  const target = resolve(root, entry);
  // The entry reads its arguments from process.argv, as if node had started it.
  process.argv = [process.argv[0], target, ...args];
  await import(pathToFileURL(target).href);
}
