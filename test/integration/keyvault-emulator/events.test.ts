import type { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmulatorSecretClient,
  startKeyVaultEmulator,
  type KeyVaultEmulator,
  type KeyVaultSystemEvent,
} from '../../../emulators/keyvault/index.js';

const START = new Date('2030-01-01T00:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
const types = (events: KeyVaultSystemEvent[]): string[] => events.map((e) => `${e.eventType.replace('Microsoft.KeyVault.', '')}:${e.subject}`);

describe('Key Vault emulator: Key Vault events', () => {
  let kv: KeyVaultEmulator;
  let client: SecretClient;
  const received: KeyVaultSystemEvent[] = [];

  beforeAll(async () => {
    kv = await startKeyVaultEmulator({
      vaultName: 'kv-events',
      subscriptionId: '11111111-2222-3333-4444-555555555555',
      resourceGroup: 'rg-rotor',
      clockStart: START,
      expiryCheckIntervalMs: 0,
      deletionDelayMs: 0,
      onEvent: (event) => received.push(event),
    });
    client = createEmulatorSecretClient(kv);
  });
  afterAll(async () => {
    await kv.stop();
  });
  beforeEach(() => {
    kv.admin.reset();
    kv.admin.clock.set(START);
    received.length = 0;
  });

  it('publishes SecretNewVersionCreated for each new version in the Event Grid envelope with PascalCase data', async () => {
    // Prepare
    const expiresOn = new Date(START.getTime() + 90 * DAY);
    const notBefore = new Date(START.getTime() + DAY);

    // Act
    const created = await client.setSecret('db-password', 'v1', { expiresOn, notBefore });
    await client.setSecret('db-password', 'v2');

    // Assess
    expect(received).toHaveLength(2);
    const event = received[0]!;
    expect(event).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      topic: '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-rotor/providers/Microsoft.KeyVault/vaults/kv-events',
      subject: 'db-password',
      eventType: 'Microsoft.KeyVault.SecretNewVersionCreated',
      eventTime: expect.stringMatching(/^2030-01-01T00:0/),
      data: {
        Id: `${kv.url}/secrets/db-password/${created.properties.version}`,
        VaultName: 'kv-events',
        ObjectType: 'Secret',
        ObjectName: 'db-password',
        Version: created.properties.version,
        NBF: notBefore.getTime() / 1000,
        EXP: expiresOn.getTime() / 1000,
      },
      dataVersion: '1',
      metadataVersion: '1',
    });
    expect(received[1]!.data.NBF).toBeNull();
    expect(received[1]!.data.EXP).toBeNull();
    expect(received[1]!.id).not.toBe(event.id);
  });

  it('publishes SecretNearExpiry at once when a version is written with exp inside 30 days', async () => {
    // Act
    await client.setSecret('soon', 'v', { expiresOn: new Date(START.getTime() + 10 * DAY) });

    // Assess
    expect(types(received)).toEqual(['SecretNewVersionCreated:soon', 'SecretNearExpiry:soon']);
  });

  it('publishes SecretNearExpiry at once when an update brings exp inside 30 days', async () => {
    // Prepare
    const created = await client.setSecret('shortened', 'v', { expiresOn: new Date(START.getTime() + 120 * DAY) });
    received.length = 0;

    // Act
    await client.updateSecretProperties('shortened', created.properties.version!, {
      expiresOn: new Date(START.getTime() + 5 * DAY),
    });

    // Assess
    expect(types(received)).toEqual(['SecretNearExpiry:shortened']);
  });

  it('publishes SecretNearExpiry once when the clock brings exp inside 30 days, and SecretExpired once when exp passes', async () => {
    // Prepare
    const created = await client.setSecret('later', 'v', { expiresOn: new Date(START.getTime() + 45 * DAY) });
    received.length = 0;

    // Act
    kv.admin.clock.advance(14 * DAY);
    const at14 = types(received);
    kv.admin.clock.advance(1 * DAY + 1_000);
    const at15 = types(received);
    kv.admin.clock.advance(10 * DAY);
    const at25 = types(received);
    kv.admin.clock.advance(21 * DAY);
    kv.admin.clock.advance(30 * DAY);

    // Assess
    expect(at14).toEqual([]);
    expect(at15).toEqual(['SecretNearExpiry:later']);
    expect(at25).toEqual(['SecretNearExpiry:later']);
    expect(types(received)).toEqual(['SecretNearExpiry:later', 'SecretExpired:later']);
    expect(received.every((e) => e.data.Version === created.properties.version)).toBe(true);
  });

  it('publishes both, in order, when one clock move jumps past exp', async () => {
    // Prepare
    await client.setSecret('jump', 'v', { expiresOn: new Date(START.getTime() + 60 * DAY) });
    received.length = 0;

    // Act
    kv.admin.clock.advance(61 * DAY);

    // Assess
    expect(types(received)).toEqual(['SecretNearExpiry:jump', 'SecretExpired:jump']);
  });

  it('raises SecretNearExpiry for a disabled version too, and for every version that has an exp', async () => {
    // Prepare
    const old = await client.setSecret('versions', 'old', { expiresOn: new Date(START.getTime() + 40 * DAY) });
    await client.updateSecretProperties('versions', old.properties.version!, { enabled: false });
    const current = await client.setSecret('versions', 'new', { expiresOn: new Date(START.getTime() + 50 * DAY) });
    received.length = 0;

    // Act
    kv.admin.clock.advance(25 * DAY);

    // Assess
    expect(received.map((e) => [e.eventType, e.data.Version])).toEqual([
      ['Microsoft.KeyVault.SecretNearExpiry', old.properties.version],
      ['Microsoft.KeyVault.SecretNearExpiry', current.properties.version],
    ]);
  });

  it('stays silent about secrets that are deleted', async () => {
    // Prepare
    await client.setSecret('binned', 'v', { expiresOn: new Date(START.getTime() + 40 * DAY) });
    await (await client.beginDeleteSecret('binned', { intervalInMs: 5 })).pollUntilDone();
    received.length = 0;

    // Act
    kv.admin.clock.advance(41 * DAY);

    // Assess
    expect(received).toEqual([]);
  });

  it('delivers to sinks added later through admin.onEvent until they are removed, and keeps a log', async () => {
    // Prepare
    const late: string[] = [];
    const remove = kv.admin.onEvent((e) => late.push(e.subject));

    // Act
    await client.setSecret('first', 'v');
    remove();
    await client.setSecret('second', 'v');

    // Assess
    expect(late).toEqual(['first']);
    expect(kv.admin.events().map((e) => e.subject)).toEqual(['first', 'second']);
  });

  it('keeps serving when a sink throws', async () => {
    // Prepare
    const remove = kv.admin.onEvent(() => {
      throw new Error('subscriber down');
    });

    // Act
    const created = await client.setSecret('robust', 'v').finally(remove);

    // Assess
    expect(created.value).toBe('v');
    expect(received.map((e) => e.subject)).toEqual(['robust']);
  });
});
