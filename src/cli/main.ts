#!/usr/bin/env node
import { readStackFile, stateDir } from '../local/stack-file.js';
import { runCli } from './run.js';

// The `rotor` bin: the process around runCli. Exit codes are documented in help.ts and docs/cli.md.

// `rotor history --all | head` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stackFile: () => readStackFile(stateDir(process.env)),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
});
