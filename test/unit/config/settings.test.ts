import { describe, expect, it } from 'vitest';
import { ConfigurationError, loadSettings, settingCatalogue } from '../../../src/config/index.js';

const localEnv = {
  ServiceBusConnection: 'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey=abc;UseDevelopmentEmulator=true',
  LedgerStorage: 'UseDevelopmentStorage=true',
  ROTOR_ALLOWED_VAULTS: 'https://127.0.0.1:8443',
};

const azureEnv = {
  ServiceBusConnection__fullyQualifiedNamespace: 'sb-rotor.servicebus.windows.net',
  LedgerStorage__blobServiceUri: 'https://strotor.blob.core.windows.net',
  ROTOR_ALLOWED_VAULTS: 'https://kv-app.vault.azure.net/, https://kv-data.vault.azure.net',
  ROTOR_NOTIFY_TOPIC_ENDPOINT: 'https://evgt-rotor.westeurope-1.eventgrid.azure.net/api/events',
  AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000001',
};

function problemsOf(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return [...(error as ConfigurationError).problems];
  }
  throw new Error('expected loadSettings to throw');
}

describe('loadSettings', () => {
  it('reads a local environment with connection strings and documented defaults', () => {
    // Act
    const settings = loadSettings(localEnv);

    // Assess
    expect(settings.serviceBus).toEqual({ kind: 'connectionString', connectionString: localEnv.ServiceBusConnection });
    expect(settings.ledgerStorage.kind).toBe('connectionString');
    expect(settings.stepQueue).toBe('rotation-steps');
    expect(settings.ledgerContainer).toBe('rotor-ledger');
    expect(settings.sweepSchedule).toBe('0 */15 * * * *');
    expect(settings.expiryHorizonMs).toBe(30 * 24 * 3600 * 1000);
    expect(settings.maxStepAttempts).toBe(8);
    expect(settings.vaultBudget).toEqual({ default: 0.9, byVault: {} });
    expect(settings.notifications).toEqual({ enabled: false });
  });

  it("reads Rotor's share of each vault's limits, with per-vault overrides", () => {
    const settings = loadSettings({ ...localEnv, ROTOR_VAULT_BUDGET: '0.8, kv-shared.vault.azure.net=0.3, kv-lab.vault.azure.net=off' });

    expect(settings.vaultBudget).toEqual({ default: 0.8, byVault: { 'kv-shared.vault.azure.net': 0.3, 'kv-lab.vault.azure.net': 0 } });
  });

  it('reads an Azure environment with identity-based connections and normalises vault URLs', () => {
    const settings = loadSettings(azureEnv);

    expect(settings.serviceBus).toEqual({ kind: 'identity', endpoint: 'sb-rotor.servicebus.windows.net' });
    expect(settings.allowedVaults).toEqual(['https://kv-app.vault.azure.net', 'https://kv-data.vault.azure.net']);
    expect(settings.notifications).toEqual({ enabled: true, endpoint: azureEnv.ROTOR_NOTIFY_TOPIC_ENDPOINT });
    expect(settings.managedIdentityClientId).toBe(azureEnv.AZURE_CLIENT_ID);
  });

  it('prefers the identity-based connection when both forms are set', () => {
    const settings = loadSettings({ ...localEnv, ServiceBusConnection__fullyQualifiedNamespace: 'sb.example' });

    expect(settings.serviceBus.kind).toBe('identity');
  });

  it.each([
    ['ROTOR_ALLOWED_VAULTS', { ...localEnv, ROTOR_ALLOWED_VAULTS: undefined }],
    ['ROTOR_ALLOWED_VAULTS', { ...localEnv, ROTOR_ALLOWED_VAULTS: ' , ' }],
    ['ROTOR_ALLOWED_VAULTS', { ...localEnv, ROTOR_ALLOWED_VAULTS: 'kv-app' }],
    ['ROTOR_MAX_STEP_ATTEMPTS', { ...localEnv, ROTOR_MAX_STEP_ATTEMPTS: 'three' }],
    ['ROTOR_MAX_STEP_ATTEMPTS', { ...localEnv, ROTOR_MAX_STEP_ATTEMPTS: '0' }],
    ['ROTOR_EXPIRY_HORIZON', { ...localEnv, ROTOR_EXPIRY_HORIZON: '30 days' }],
    ['ROTOR_STALL_AFTER', { ...localEnv, ROTOR_STALL_AFTER: 'PT0S' }],
    ['ROTOR_STALL_AFTER', { ...localEnv, ROTOR_STALL_AFTER: '10 minutes' }],
    ['ROTOR_SWEEP_SCHEDULE', { ...localEnv, ROTOR_SWEEP_SCHEDULE: '*/15 * * * *' }],
    ['ROTOR_LOG_LEVEL', { ...localEnv, ROTOR_LOG_LEVEL: 'verbose' }],
    ['ROTOR_VAULT_BUDGET', { ...localEnv, ROTOR_VAULT_BUDGET: '90%' }],
    ['ROTOR_VAULT_BUDGET', { ...localEnv, ROTOR_VAULT_BUDGET: 'kv-shared.vault.azure.net=2' }],
    ['ROTOR_LEDGER_CONTAINER', { ...localEnv, ROTOR_LEDGER_CONTAINER: 'Rotor_Ledger' }],
    ['ServiceBusConnection__fullyQualifiedNamespace or ServiceBusConnection', { ...localEnv, ServiceBusConnection: undefined }],
    ['LedgerStorage__blobServiceUri or LedgerStorage', { ...localEnv, LedgerStorage: '  ' }],
  ])('names %s when it is missing or malformed', (variable, env) => {
    // Act
    const problems = problemsOf(env as Record<string, string>);

    // Assess
    expect(problems.map((p) => p.variable)).toContain(variable);
  });

  it('reports every bad variable at once', () => {
    const problems = problemsOf({ ROTOR_LOG_LEVEL: 'loud', ROTOR_MAX_STEP_ATTEMPTS: '-1' });

    expect(problems.map((p) => p.variable).sort()).toEqual(['ROTOR_ALLOWED_VAULTS', 'ROTOR_LOG_LEVEL', 'ROTOR_MAX_STEP_ATTEMPTS']);
  });

  it('never echoes a setting value in its error, since some carry keys', () => {
    const key = 'SharedAccessKey=TOP-SECRET-KEY-123';

    const error = (() => {
      try {
        loadSettings({ ServiceBusConnection: key, ROTOR_LOG_LEVEL: key, ROTOR_ALLOWED_VAULTS: key });
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a ConfigurationError');
    })();

    expect(error.message).not.toContain('TOP-SECRET-KEY-123');
    expect(JSON.stringify(error)).not.toContain('TOP-SECRET-KEY-123');
  });

  it('has a catalogue entry for every setting it reads and no other', () => {
    const names = Object.keys(settingCatalogue);

    expect(names).toContain('ServiceBusConnection__fullyQualifiedNamespace');
    expect(names).toContain('ROTOR_ALLOWED_VAULTS');
    for (const entry of Object.values(settingCatalogue)) expect(entry.description.length).toBeGreaterThan(10);
  });
});
