import { describe, expect, it } from 'vitest';
import { buildKeyVaultEvent, type KeyVaultEventType } from '../../../emulators/keyvault/events.js';
import { parseEventEnvelope, parseKeyVaultSecretEvent } from '../../../src/events/keyvault-events.js';

/** The Key Vault emulator's events are what the intake reads (both follow Key Vault's documented shape). */
describe('Key Vault emulator events', () => {
  const source = { vaultUrl: 'https://127.0.0.1:8443', vaultName: 'rotor-local', subscriptionId: '0', resourceGroup: 'rotor-local' };

  it.each<[KeyVaultEventType, number | undefined]>([
    ['Microsoft.KeyVault.SecretNearExpiry', 1_800_000_000],
    ['Microsoft.KeyVault.SecretExpired', undefined],
  ])('parses %s', (type, exp) => {
    // Prepare
    const event = buildKeyVaultEvent(source, type, { name: 'db-password', version: 'abc123', nbf: undefined, exp }, new Date());

    // Act
    const envelope = parseEventEnvelope(JSON.parse(JSON.stringify(event)));
    const parsed = envelope.ok ? parseKeyVaultSecretEvent(envelope.value) : envelope;

    // Assess
    expect(parsed).toMatchObject({ ok: true, value: { eventType: type, secret: { vaultUrl: 'https://127.0.0.1:8443', name: 'db-password' }, version: 'abc123' } });
  });
});
