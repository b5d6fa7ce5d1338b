import { ServiceBusClient } from '@azure/service-bus';
import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { composeRotor } from '../../../src/app/compose.js';
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
