import { describe, expect, it } from 'vitest';
import { parseCommandLine, parseDuration } from '../../../src/cli/args.js';
import { isUsageError } from '../../../src/cli/errors.js';
import { cli } from './fake-api.js';

/** The message a command line is refused with (the test fails if it is accepted). */
function refusal(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (error) {
    if (isUsageError(error)) return error.message;
    throw error;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}

describe('command line', () => {
  it.each([
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['history', 'db-password', '--bogus'], "unknown flag --bogus for 'rotor history'"],
    [['secrets', '--watch'], "unknown flag --watch for 'rotor secrets'"],
    [['history', 'db-password', '--limit'], '--limit needs a value'],
    [['history', 'db-password', '--limit', 'ten'], "--limit must be a whole number of at least 1, got 'ten'"],
    [['history', 'db-password', '--limit', '0'], "--limit must be a whole number of at least 1, got '0'"],
    [['history', 'db-password', '--limit', '5', '--all'], '--all and --limit exclude each other'],
    [['history'], 'history needs a secret name'],
    [['rotate', 'a', 'b'], 'rotate takes one secret name, got extra: b'],
    [['rotate', 'db-password', '--timeout', '5m'], '--timeout applies only with --wait'],
    [['rotate', 'db-password', '--wait', '--timeout', 'soon'], "--timeout must be a duration such as 90s, 10m, 1h or PT10M, got 'soon'"],
    [['rotate', 'db-password', '--dry-run', '--wait'], '--wait has nothing to wait for with --dry-run'],
    [['rotate', 'db-password', '--vault', 'kv-demo'], "--vault must be a vault URL such as https://myvault.vault.azure.net, got 'kv-demo'"],
    [['status'], 'status needs a rotation id'],
    [['status', 'r1', '--json=yes'], '--json takes no value'],
    [['secrets', 'extra'], 'secrets takes no arguments, got: extra'],
    [[], 'a command is required'],
  ])('refuses %j: %s', (argv, message) => {
    expect(refusal(argv)).toContain(message);
  });

  it('reads global flags wherever they stand and the command after a global with a value', () => {
    const parsed = parseCommandLine(['--url', 'http://h/api', 'rotate', 'db-password', '--json', '--wait', '--timeout', '90s', '--reason', 'drill', '--no-color']);
    expect(parsed).toEqual({
      globals: { url: 'http://h/api', key: undefined, json: true, noColor: true },
      command: { name: 'rotate', secret: 'db-password', reason: 'drill', dryRun: false, wait: true, timeoutMs: 90_000 },
    });
  });

  it.each([
    [['history', 'db-password'], { name: 'history', secret: 'db-password', limit: 20 }],
    [['history', 'db-password', '--all'], { name: 'history', secret: 'db-password', limit: 'all' }],
    [['status', 'r1', '--watch'], { name: 'status', rotationId: 'r1', watch: true, timeoutMs: 900_000 }],
    [['help', 'status'], { name: 'help', topic: 'status' }],
    [['status', '--help'], { name: 'help', topic: 'status' }],
    [['--help'], { name: 'help' }],
  ])('%j parses to %j', (argv, command) => {
    expect(parseCommandLine(argv).command).toEqual(command);
  });

  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['45', 45_000],
    ['PT10M', 600_000],
    ['500ms', 500],
    ['ten minutes', undefined],
  ])('duration %s is %s ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('process behaviour of usage errors and help', () => {
  it('a bad ROTOR_API_URL is a usage error naming the variable', async () => {
    const run = await cli(['secrets'], { ROTOR_API_URL: 'not a url' });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('rotor: ROTOR_API_URL must be a URL such as https://func-rotor.azurewebsites.net/api\n');
  });

  it('help lists every command and documents the exit codes', async () => {
    const run = await cli(['help'], {});
    expect(run.code).toBe(0);
    for (const command of ['rotor rotate <secret>', 'rotor status <rotation-id>', 'rotor history <secret>', 'rotor secrets', 'rotor help']) {
      expect(run.stdout).toContain(command);
    }
    expect(run.stdout).toMatch(/^ {2}3 {2}with --wait\/--watch: the rotation ended RolledBack, Failed, Aborted or Skipped$/m);
    expect(run.stdout).toMatch(/^ {2}2 {2}usage error/m);
  });
});
