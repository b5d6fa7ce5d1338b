import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './infra-files.js';

// The azd hooks run against a stand-in `az` on PATH that records its calls
// and answers as the test says: what the hooks do, not just what they say.

const bin = mkdtempSync(join(tmpdir(), 'rotor-hooks-'));
const calls = join(bin, 'calls.log');
writeFileSync(
  join(bin, 'az'),
  `#!/bin/sh
echo "az $*" >> "${calls}"
case "$1 $2" in
  "resource show") [ "\${FAKE_FUNCTION_EXISTS:-no}" = yes ] && echo "/the/function/id" && exit 0; exit 3 ;;
  "role assignment") [ -n "\${FAKE_ROLE_CREATED_ON:-}" ] && echo "$FAKE_ROLE_CREATED_ON"; exit 0 ;;
  "deployment group") exit 0 ;;
esac
exit 0
`,
);
chmodSync(join(bin, 'az'), 0o755);
afterAll(() => rmSync(bin, { recursive: true, force: true }));

const outputs = {
  ROTOR_TARGET_VAULT_IDS:
    '/subscriptions/s1/resourceGroups/rg-a/providers/Microsoft.KeyVault/vaults/kv-a,/subscriptions/s2/resourceGroups/rg-b/providers/Microsoft.KeyVault/vaults/kv-b',
  AZURE_FUNCTION_APP_ID: '/subscriptions/s0/resourceGroups/rg-rotor/providers/Microsoft.Web/sites/func-rotor-x',
  ROTOR_EVENTGRID_IDENTITY_ID: '/subscriptions/s0/resourceGroups/rg-rotor/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-evgs',
  ROTOR_EVENT_SUBSCRIPTION_NAME: 'evgs-rotor-x',
  ROTOR_DEADLETTER_STORAGE_ACCOUNT_ID: '/subscriptions/s0/resourceGroups/rg-rotor/providers/Microsoft.Storage/storageAccounts/stx',
  ROTOR_DEADLETTER_CONTAINER: 'eventgrid-deadletter',
  ROTOR_PRINCIPAL_ID: '00000000-0000-0000-0000-000000000009',
  ROTOR_STORAGE_ACCOUNT_ID: '/subscriptions/s0/resourceGroups/rg-rotor/providers/Microsoft.Storage/storageAccounts/stx',
};

function runHook(hook: string, env: Record<string, string>): { status: number | null; calls: string[]; stderr: string } {
  writeFileSync(calls, '');
  const result = spawnSync('sh', [join(repoRoot, 'infra/hooks', hook)], {
    env: { PATH: `${bin}:${process.env.PATH ?? ''}`, ROTOR_HOOK_PAUSE_SECONDS: '0', ...outputs, ...env },
    encoding: 'utf8',
  });
  return { status: result.status, calls: readFileSync(calls, 'utf8').split('\n').filter(Boolean), stderr: result.stderr };
}

describe('postdeploy: subscribe-vault-events.sh', () => {
  it('subscribes every vault, in its own subscription and resource group, once the function exists', () => {
    const run = runHook('subscribe-vault-events.sh', { FAKE_FUNCTION_EXISTS: 'yes' });
    const deployments = run.calls.filter((c) => c.startsWith('az deployment group create'));

    expect(run.status).toBe(0);
    expect(deployments).toHaveLength(2);
    expect(deployments[0]).toMatch(/--subscription s1 --resource-group rg-a --name rotor-events-kv-a .* subscribe=true /);
    expect(deployments[1]).toMatch(/--subscription s2 --resource-group rg-b --name rotor-events-kv-b /);
  });

  it('waits for the function, bounded, and fails naming the way to retry; it writes nothing to the azd environment', () => {
    const run = runHook('subscribe-vault-events.sh', { FAKE_FUNCTION_EXISTS: 'no', ROTOR_HOOK_FUNCTION_ATTEMPTS: '3' });

    expect(run.status).not.toBe(0);
    expect(run.calls.filter((c) => c.startsWith('az resource show'))).toHaveLength(3);
    expect(run.calls.filter((c) => c.startsWith('az deployment'))).toEqual([]);
    expect(run.stderr).toMatch(/azd hooks run postdeploy/);
  });
});

describe('predeploy: wait-for-deployment-role.sh', () => {
  it('passes at once when the role was assigned long ago (every deploy after the first)', () => {
    const run = runHook('wait-for-deployment-role.sh', { FAKE_ROLE_CREATED_ON: '2020-01-01T00:00:00.000000+00:00' });

    expect(run.status).toBe(0);
    expect(run.calls).toHaveLength(1);
    expect(run.calls[0]).toMatch(/--role b7e6dc6d-f1e8-4753-8033-0f276bb0955b/);
  });

  it('waits while the role is younger than the propagation time, then gives up with a clear message', () => {
    const run = runHook('wait-for-deployment-role.sh', {
      FAKE_ROLE_CREATED_ON: new Date().toISOString(),
      ROTOR_ROLE_PROPAGATION_SECONDS: '3600',
      ROTOR_HOOK_ROLE_ATTEMPTS: '2',
    });

    expect(run.status).not.toBe(0);
    expect(run.calls).toHaveLength(2);
    expect(run.stderr).toMatch(/did not settle/);
  });

  it('waits while the assignment is not visible yet', () => {
    const run = runHook('wait-for-deployment-role.sh', { ROTOR_HOOK_ROLE_ATTEMPTS: '2' });

    expect(run.status).not.toBe(0);
    expect(run.calls).toHaveLength(2);
  });
});
