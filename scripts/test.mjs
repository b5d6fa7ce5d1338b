#!/usr/bin/env node
// `npm test`: the type check, the lint and vitest, side by side.
//
// Run one after another they took typecheck ≈ 20 CPU-s, lint ≈ 41 CPU-s, then vitest, which spends most of
// its time waiting on emulators: each of the first two kept one core busy while the other idled. Together
// they finish with the slowest. vitest's output streams as it runs; the type check's and the lint's are
// printed whole when each ends, so they never interleave with vitest's lines. Extra arguments go to vitest.
import { spawn } from 'node:child_process';

const vitestArgs = process.argv.slice(2);

/** Runs one command; resolves with its exit code and, when `buffer`, its whole output. */
function run(name, command, args, buffer) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command, args, { stdio: buffer ? ['ignore', 'pipe', 'pipe'] : 'inherit', shell: false });
    const chunks = [];
    if (buffer) {
      child.stdout.on('data', (c) => chunks.push(c));
      child.stderr.on('data', (c) => chunks.push(c));
    }
    const end = (code) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const output = Buffer.concat(chunks).toString('utf8').trim();
      if (buffer) {
        process.stdout.write(`\n── ${name}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${seconds} s ──\n`);
        if (output) process.stdout.write(`${output}\n`);
      }
      resolve({ name, code, seconds });
    };
    child.on('error', (error) => {
      chunks.push(Buffer.from(`${name} could not start: ${error.message}`));
      end(127);
    });
    child.on('close', (code, signal) => end(code ?? (signal ? 128 : 1)));
  });
}

const bin = (tool) => new URL(`../node_modules/.bin/${tool}`, import.meta.url).pathname;

const results = await Promise.all([
  run('typecheck', bin('tsc'), ['-p', 'tsconfig.check.json'], true),
  run('lint', bin('eslint'), ['--max-warnings', '0', '.'], true),
  run('vitest', bin('vitest'), ['run', ...vitestArgs], false),
]);

const failed = results.filter((r) => r.code !== 0);
process.stdout.write(`\nnpm test: ${results.map((r) => `${r.name} ${r.code === 0 ? 'ok' : 'FAILED'} (${r.seconds} s)`).join(', ')}\n`);
process.exit(failed.length === 0 ? 0 : 1);
