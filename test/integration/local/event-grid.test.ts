import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorStack, type EmulatorStack } from '../../../emulators/stack.js';
import { createEmulatorSecretClient } from '../../../emulators/keyvault/index.js';
import { createEventGridNotifier } from '../../../src/notify/event-grid-notifier.js';
import { rotorFunctions } from '../../../src/local/catalogue.js';
import { startLocalHost, type LocalHost } from '../../../src/local/host.js';
import { NotificationType } from '../../../src/rotation/ports.js';
import { useRotor } from '../../../src/app/compose.js';
import { partialRotor } from '../../helpers/fakes/index.js';
import { createFakeWaysIn } from '../../helpers/fakes/entry.js';

/**
 * The event path through the emulators, as Azure wires it: a Key Vault write
 * emits SecretNearExpiry, the Event Grid emulator validates the subscription
 * (either schema) and delivers to the local host's webhook, the intake starts
 * a rotation. The engine behind `startRotation` is the real one over
 * in-memory ports here; the e2e suite runs the same path on the emulators.
 */

let emulators: EmulatorStack;
let host: LocalHost;
const fake = createFakeWaysIn();

beforeAll(async () => {
  emulators = await startEmulatorStack({ keyVault: { throttle: false }, eventGrid: { retryTimeScale: 0.001 } });
  useRotor(partialRotor({ entry: { ...fake.services, allowedVaults: [new URL(emulators.keyVault.url).origin] } }));
  host = await startLocalHost({ functions: rotorFunctions.filter((f) => f.trigger === 'eventGrid'), env: {}, log: fake.services.log });
});

afterAll(async () => {
  await host?.stop();
  useRotor(undefined);
  await emulators?.stop();
});

describe('Key Vault events through the Event Grid emulator', () => {
  it.each(['EventGridSchema', 'CloudEventSchemaV1_0'] as const)('validates a %s subscription to the webhook', async (schema) => {
    // Act
    const subscription = await emulators.eventGrid.admin.createSubscription({
      name: `intake-${schema === 'EventGridSchema' ? 'eg' : 'ce'}`,
      endpointUrl: host.eventGridWebhookUrl('keyVaultEvents'),
      eventDeliverySchema: schema,
      filter: { includedEventTypes: ['Microsoft.KeyVault.SecretNearExpiry', 'Microsoft.KeyVault.SecretExpired'] },
    });

    // Assess
    expect(subscription).toMatchObject({ provisioningState: 'Succeeded', validatedBy: 'handshake' });
  });

  it('turns a near-expiry write into one rotation per version, whatever the schema and duplicates', async () => {
    // Prepare
    const client = createEmulatorSecretClient(emulators.keyVault);
    emulators.eventGrid.admin.injectDuplicates({ remaining: 4 });
    const vaultUrl = new URL(emulators.keyVault.url).origin;
    const written = await client.setSecret('db-password', 'initial-value-1234', { tags: { 'rotor-rotator': 'random' } });
    const version = written.properties.version!;
    fake.addVersion({ secret: { vaultUrl, name: 'db-password' }, version, enabled: true, tags: { 'rotor-rotator': 'random' } });

    // Act: an expiry inside 30 days makes the vault publish SecretNearExpiry for this version.
    await client.updateSecretProperties('db-password', version, { expiresOn: new Date(Date.now() + 10 * 86_400_000) });
    await emulators.eventGrid.admin.waitForIdle();

    // Assess
    // Duplicates reach the webhook; the intake answers those of a version it just started from memory.
    expect(emulators.eventGrid.admin.attempts().filter((a) => a.duplicate && a.status === 202).length).toBeGreaterThanOrEqual(1);
    const forSecret = fake.calls.filter((c) => c.secret.name === 'db-password');
    expect(forSecret.length).toBeGreaterThanOrEqual(1);
    expect(new Set(forSecret.map((c) => c.trigger.version))).toEqual(new Set([version]));
    expect(fake.ledger.rotations().length).toBe(1);
    expect(emulators.eventGrid.admin.attempts().every((a) => a.status === 202)).toBe(true);
  });

  it('publishes notifications to the emulator topic as CloudEvents', async () => {
    const notifier = createEventGridNotifier({
      endpoint: emulators.eventGrid.topicEndpoint,
      credential: { key: emulators.eventGrid.topicKey },
      log: fake.services.log,
    });

    await notifier.notify({ type: NotificationType.Completed, rotationId: 'r-1', secret: { vaultUrl: 'https://kv', name: 'db-password' }, status: 'Completed', versions: { previous: 'a', promoted: 'b' }, durationMs: 10 });
    const [published] = await emulators.eventGrid.admin.waitForPublished({ topic: 'rotor-notifications', count: 1 });

    expect(published?.event).toMatchObject({ type: 'Rotor.Rotation.Completed', subject: 'kv/db-password', data: { rotationId: 'r-1', status: 'Completed' } });
  });
});
