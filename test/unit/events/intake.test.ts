import { describe, expect, it } from 'vitest';
import { receiveKeyVaultEvent } from '../../../src/events/intake.js';
import { splitDelivery } from '../../../src/events/keyvault-events.js';
import { fixture } from '../../helpers/fixtures.js';
import { createFakeWaysIn, secretInfo } from '../../helpers/fakes/entry.js';

const managed = { 'rotor-rotator': 'random' };

function eventsOf(path: string): readonly unknown[] {
  const split = splitDelivery(fixture(`events/keyvault/${path}`));
  if (!split.ok) throw new Error('fixture is not a delivery');
  return split.value;
}

function setup() {
  return createFakeWaysIn({
    secrets: [
      secretInfo('db-password', 'ee059b2bb5bc48398a53b168c6cdcb10', { tags: managed }),
      secretInfo('api-key', '0f3a1c5e7b9d4f2a8c6e0b1d3f5a7c9e', { tags: managed }),
      secretInfo('newsecret', 'ee059b2bb5bc48398a53b168c6cdcb10', { tags: {} }),
    ],
  });
}

describe('receiveKeyVaultEvent', () => {
  it.each(['secret-near-expiry.eventgrid.json', 'secret-near-expiry.cloudevents.json', 'secret-expired.eventgrid-numbers.json'])(
    'starts a rotation keyed by the event version for %s',
    async (path) => {
      // Prepare
      const { services, calls } = setup();
      const [event] = eventsOf(path);

      // Act
      const result = await receiveKeyVaultEvent(event, services);

      // Assess
      expect(result.outcome).toBe('started');
      expect(calls).toHaveLength(1);
      expect(calls[0]?.trigger).toMatchObject({ kind: 'event', version: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown, eventType: expect.stringContaining('Microsoft.KeyVault.Secret') as unknown });
    },
  );

  it('starts nothing new for a duplicate delivery, even in the other schema', async () => {
    const { services, ledger } = setup();
    const [viaEventGrid] = eventsOf('secret-near-expiry.eventgrid.json');
    const [viaCloudEvents] = eventsOf('secret-near-expiry.cloudevents.json');

    const first = await receiveKeyVaultEvent(viaEventGrid, services);
    const again = await receiveKeyVaultEvent(viaEventGrid, services);
    const other = await receiveKeyVaultEvent(viaCloudEvents, services);

    expect(first.outcome).toBe('started');
    expect(again).toMatchObject({ outcome: 'duplicate', rotationId: first.outcome === 'started' ? first.rotationId : '' });
    expect(other.outcome).toBe('duplicate');
    expect(ledger.rotations().length).toBe(1);
  });

  it('answers a repeated delivery of a (secret, version) it started from memory, without asking the engine again', async () => {
    const { services, calls } = setup();
    const [event] = eventsOf('secret-near-expiry.eventgrid.json');

    const first = await receiveKeyVaultEvent(event, services);
    const repeats = await Promise.all(Array.from({ length: 5 }, () => receiveKeyVaultEvent(event, services)));

    expect(first.outcome).toBe('started');
    expect(repeats.map((r) => r.outcome)).toEqual(Array(5).fill('duplicate'));
    expect(calls).toHaveLength(1);
  });

  it.each([
    ['SecretNewVersionCreated', 'secret-new-version-created.docs-sample.json', 'new-version'],
    ['an unrelated type', 'key-near-expiry.eventgrid.json', 'unrelated-type'],
    ['a validation event', 'subscription-validation.eventgrid.json', 'validation-event'],
    ['an unmanaged secret', 'secret-near-expiry.docs-quirks.json', 'not-managed'],
  ])('ignores %s and says why at debug level', async (_case, path, reason) => {
    const { services, calls, sink } = setup();
    const [event] = eventsOf(path);

    const result = await receiveKeyVaultEvent(event, services);

    expect(result).toMatchObject({ outcome: 'ignored', reason });
    expect(calls.length).toBe(reason === 'not-managed' ? 1 : 0);
    expect(sink.records.at(-1)).toMatchObject({ level: 'debug', fields: { reason } });
  });

  it('ignores vaults outside the allow-list without asking the engine', async () => {
    const { services, calls } = createFakeWaysIn({ allowedVaults: ['https://other-kv.vault.azure.net'] });
    const [event] = eventsOf('secret-near-expiry.eventgrid.json');

    const result = await receiveKeyVaultEvent(event, services);

    expect(result).toMatchObject({ outcome: 'ignored', reason: 'vault-not-allowed' });
    expect(calls).toHaveLength(0);
  });

  it('ignores a stale (already rotated) version and a busy secret', async () => {
    const { services, secrets } = setup();
    const [nearExpiry] = eventsOf('secret-near-expiry.eventgrid.json');
    const [expired] = eventsOf('secret-expired.eventgrid-numbers.json');
    await services.startRotation({ vaultUrl: 'https://sample-kv.vault.azure.net', name: 'api-key' }, { kind: 'manual' });
    secrets.add(secretInfo('db-password', 'aaaabbbbccccddddeeeeffff00001111', { tags: managed }));

    const stale = await receiveKeyVaultEvent(nearExpiry, services);
    const busy = await receiveKeyVaultEvent(expired, services);

    expect(stale).toMatchObject({ outcome: 'ignored', reason: 'stale' });
    expect(busy).toMatchObject({ outcome: 'ignored', reason: 'busy' });
  });

  it('rejects malformed events with the problems logged, and throws nothing', async () => {
    const { services, sink } = setup();

    const result = await receiveKeyVaultEvent({ id: 'x', eventType: 'Microsoft.KeyVault.SecretNearExpiry', data: { Id: 'nope' } }, services);

    expect(result.outcome).toBe('rejected');
    expect(sink.records.at(-1)).toMatchObject({ level: 'warn', message: 'malformed event rejected' });
  });

  it('lets an engine failure propagate so Event Grid delivers again', async () => {
    const { services } = setup();
    const failing = { ...services, startRotation: () => Promise.reject(new Error('ledger unreachable')) };
    const [event] = eventsOf('secret-near-expiry.eventgrid.json');

    await expect(receiveKeyVaultEvent(event, failing)).rejects.toThrow('ledger unreachable');
  });
});
