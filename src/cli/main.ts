#!/usr/bin/env node
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
});
