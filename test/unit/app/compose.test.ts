import { ServiceBusClient } from '@azure/service-bus';
import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { composeRotor } from '../../../src/app/compose.js';
import { radarFromRotor } from '../../../src/radar/services.js';
import { loadSettings } from '../../../src/config/index.js';
import { isSecretStoreError } from '../../../src/keyvault/errors.js';

const settings = loadSettings({
  ServiceBusConnection: 'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=local;SharedAccessKey=local;UseDevelopmentEmulator=true',
  LedgerStorage: 'UseDevelopmentStorage=true',
  ROTOR_ALLOWED_VAULTS: 'https://kv-app.vault.azure.net',
});

describe('composeRotor', () => {
  it('wires the random rotator and the engine from settings without connecting anywhere', async () => {
    // Act
    const rotor = composeRotor({ settings });

    // Assess
    expect([...rotor.rotators.keys()].sort()).toEqual(['entra-app-secret', 'eventgrid-topic-key', 'postgres', 'random', 'storage-account-key', 'storage-sas', 'webhook']);
    expect(typeof rotor.engine.handleStep).toBe('function');
    await rotor.close();
  });

  it('never builds a Key Vault client for a vault outside ROTOR_ALLOWED_VAULTS', async () => {
    // Prepare
    const built: string[] = [];
    const rotor = composeRotor({
      settings,
      serviceBusClient: new ServiceBusClient(settings.serviceBus.kind === 'connectionString' ? settings.serviceBus.connectionString : ''),
      blobServiceClient: BlobServiceClient.fromConnectionString('UseDevelopmentStorage=true'),
      secretClientFor: (url) => {
        built.push(url);
        throw new Error('not in this test');
      },
    });

    // Act
    const error = await rotor.secretStore.getLatest({ vaultUrl: 'https://attacker.example', name: 'x' }).catch((e: unknown) => e);

    // Assess
    expect(isSecretStoreError(error) && error.code).toBe('Forbidden');
    expect(built).toEqual([]);
  });
});

describe('radarFromRotor', () => {
  it('reads Graph with the Rotor’s own identity, asked for only when an application is read', async () => {
    // Prepare: an identity that records what it was asked for and answers nothing (so no request leaves)
    const asked: string[][] = [];
    const credential = {
      getToken: (scopes: string | string[]) => {
        asked.push([scopes].flat());
        return Promise.reject(new Error('no token in this test'));
      },
    };
    const rotor = composeRotor({ settings, credential, serviceBusClient: new ServiceBusClient(settings.serviceBus.kind === 'connectionString' ? settings.serviceBus.connectionString : '') });
    const radar = radarFromRotor(rotor);
    const before = asked.length;

    // Act
    const error = await radar.sources.applications!.read('11111111-2222-3333-4444-555555555555').catch((e: unknown) => e);

    // Assess
    expect(before).toBe(0);
    expect(error).toBeInstanceOf(Error);
    expect(asked).toContainEqual(['https://graph.microsoft.com/.default']);
    expect(rotor.ledgerContainer.containerName).toBe(settings.ledgerContainer);
    await rotor.close();
  });
});
