import type { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulatorSecretClient } from '../../emulators/keyvault/index.js';
import { runCli } from '../../src/cli/run.js';
import { startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { createLogger, createMemorySink } from '../../src/observability/logger.js';
import { expectNoSecretIn } from '../helpers/leaks.js';

/**
 * The `rotor` CLI against the real local stack (the host `npm start` runs):
 * HTTP with function keys, the API handlers, the engine on the Service Bus
 * emulator and Azurite, the Key Vault emulator. Everything the CLI printed is
 * checked for the values it must never show.
 */

let stack: LocalStack;
let client: SecretClient;
const printed: string[] = [];
const values: string[] = [];

beforeAll(async () => {
  stack = await startLocalStack({
    log: createLogger(createMemorySink(), { level: 'warn' }),
    demo: false,
    timers: 'manual',
    eventGridRetryTimeScale: 0.001,
    keyVaultThrottle: false,
  });
  client = createEmulatorSecretClient(stack.emulators.keyVault);
});

afterAll(async () => {
  await stack?.stop();
});

/** Runs the CLI in-process; polls are shortened to 100 ms of real time (the --timeout budget still counts 2 s each). */
async function rotor(argv: string[], key: string = stack.host.functionKey): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env: { ROTOR_API_URL: stack.host.apiUrl, ROTOR_API_KEY: key },
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    sleep: () => new Promise((resolve) => setTimeout(resolve, 100)),
  });
  printed.push(stdout, stderr);
  return { code, stdout, stderr };
}

describe('rotor against the local host', () => {
  it('rotate --wait ends 0 with the rotation Completed, and history and secrets list it', async () => {
    // Prepare
    const initial = `initial-cli-e2e-${Math.random().toString(36).slice(2)}`;
    values.push(initial);
    await client.setSecret('cli-e2e', initial, { tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT0S' } });

    // Act
    const rotate = await rotor(['rotate', 'cli-e2e', '--reason', 'cli end to end', '--wait', '--timeout', '10m']);
    const id = /^Started: rotation (\S+) of cli-e2e;/m.exec(rotate.stdout)?.[1];
    const history = await rotor(['history', 'cli-e2e']);
    const secrets = await rotor(['secrets', '--json']);

    // Assess
    expect(rotate.stderr).toBe('');
    expect(rotate.code).toBe(0);
    expect(rotate.stdout).toMatch(/^Status\s+Completed\s+ended at /m);
    expect(rotate.stdout).toMatch(/^Trigger\s+manual: cli end to end$/m);
    expect(id).toBeDefined();
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(new RegExp(`^${id!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+Completed\\s+`, 'm'));
    const listed = JSON.parse(secrets.stdout).items.find((i: { name: string }) => i.name === 'cli-e2e');
    expect(listed).toMatchObject({ policy: { valid: true, rotator: 'random' }, lastRotation: { id, status: 'Completed' } });
    values.push((await client.getSecret('cli-e2e')).value!);
  });

  it('answers a dry run, a missing rotation and a wrong key with the right exit codes', async () => {
    const dryRun = await rotor(['rotate', 'cli-e2e', '--dry-run']);
    const missing = await rotor(['status', 'no-such-rotation']);
    const wrongKey = await rotor(['secrets'], 'not-the-key');

    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toMatch(/^Dry run for cli-e2e in /);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('id (path): no such rotation');
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('did not accept the function key from ROTOR_API_KEY: it is set, but not a key of this API');
  });

  it('printed no secret value and no key', () => {
    expect(values.length).toBeGreaterThan(1);
    expectNoSecretIn(printed, [...values, stack.host.functionKey]);
  });
});
