import { describe, expect, it } from 'vitest';
import { receiveKeyVaultEvent, startQueuedEvent } from '../../../src/events/intake.js';
import type { EventStart } from '../../../src/events/start-message.js';
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
      const { services, calls, ledger } = setup();
      const [event] = eventsOf(path);

      // Act
      const result = await receiveKeyVaultEvent(event, services);

      // Assess
      expect(result.outcome).toBe('started');
      expect(calls).toHaveLength(1);
      expect(calls[0]?.trigger).toMatchObject({ kind: 'event', version: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown, eventType: expect.stringContaining('Microsoft.KeyVault.Secret') as unknown });
      expect(ledger.rotations()).toEqual([
        expect.objectContaining({ id: result.outcome === 'started' ? result.rotationId : '', trigger: calls[0]?.trigger, status: 'Running', step: 'begin' }),
      ]);
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
    const { services, calls, logs } = setup();
    const [event] = eventsOf(path);

    const result = await receiveKeyVaultEvent(event, services);

    expect(result).toMatchObject({ outcome: 'ignored', reason });
    expect(calls.length).toBe(reason === 'not-managed' ? 1 : 0);
    expect(logs.at(-1)).toMatchObject({ level: 'debug', fields: { reason } });
  });

  it('ignores vaults outside the allow-list without asking the engine', async () => {
    const { services, calls } = createFakeWaysIn({ allowedVaults: ['https://other-kv.vault.azure.net'] });
    const [event] = eventsOf('secret-near-expiry.eventgrid.json');

    const result = await receiveKeyVaultEvent(event, services);

    expect(result).toMatchObject({ outcome: 'ignored', reason: 'vault-not-allowed' });
    expect(calls).toHaveLength(0);
  });

  it('ignores a stale (already rotated) version and a busy secret', async () => {
    const { services, addVersion } = setup();
    const [nearExpiry] = eventsOf('secret-near-expiry.eventgrid.json');
    const [expired] = eventsOf('secret-expired.eventgrid-numbers.json');
    await services.startRotation({ vaultUrl: 'https://sample-kv.vault.azure.net', name: 'api-key' }, { kind: 'manual' });
    addVersion(secretInfo('db-password', 'aaaabbbbccccddddeeeeffff00001111', { tags: managed }));

    const stale = await receiveKeyVaultEvent(nearExpiry, services);
    const busy = await receiveKeyVaultEvent(expired, services);

    expect(stale).toMatchObject({ outcome: 'ignored', reason: 'stale' });
    expect(busy).toMatchObject({ outcome: 'ignored', reason: 'busy' });
  });

  it('rejects malformed events with the problems logged, and throws nothing', async () => {
    const { services, logs } = setup();

    const result = await receiveKeyVaultEvent({ id: 'x', eventType: 'Microsoft.KeyVault.SecretNearExpiry', data: { Id: 'nope' } }, services);

    expect(result.outcome).toBe('rejected');
    expect(logs.at(-1)).toMatchObject({ level: 'warn', message: 'malformed event rejected' });
  });

  it('lets an engine failure propagate so Event Grid delivers again', async () => {
    const { services } = setup();
    const failing = { ...services, startRotation: () => Promise.reject(new Error('ledger unreachable')) };
    const [event] = eventsOf('secret-near-expiry.eventgrid.json');

    await expect(receiveKeyVaultEvent(event, failing)).rejects.toThrow('ledger unreachable');
  });
});

describe('receiveKeyVaultEvent, enqueue first (the step queue is Service Bus)', () => {
  function queued() {
    const world = setup();
    const sent: EventStart[] = [];
    const services = { ...world.services, enqueueStart: (start: EventStart) => Promise.resolve(void sent.push(start)) };
    /** What the step handler does with each enqueued start, in order. */
    const drain = async () => {
      const results = [];
      while (sent.length > 0) results.push(await startQueuedEvent(sent.shift()!, services));
      return results;
    };
    return { ...world, services, sent, drain };
  }

  it('answers with one send and no vault or ledger call; the rotation starts when the message is handled', async () => {
    // Prepare
    const { services, sent, calls, ledger, drain } = queued();
    const [event] = eventsOf('secret-near-expiry.eventgrid.json');

    // Act
    const result = await receiveKeyVaultEvent(event, services);

    // Assess
    expect(result).toMatchObject({ outcome: 'queued', repeat: false, version: 'ee059b2bb5bc48398a53b168c6cdcb10' });
    expect(sent).toEqual([expect.objectContaining({ secret: expect.objectContaining({ name: 'db-password' }), version: 'ee059b2bb5bc48398a53b168c6cdcb10', eventType: 'Microsoft.KeyVault.SecretNearExpiry' })]);
    expect(calls).toHaveLength(0);
    expect(ledger.rotations().length).toBe(0);
    expect((await drain()).map((r) => r.outcome)).toEqual(['started']);
    expect(calls[0]?.trigger).toMatchObject({ kind: 'event', version: 'ee059b2bb5bc48398a53b168c6cdcb10' });
    expect(ledger.rotations().length).toBe(1);
  });

  it('starts exactly one rotation per (secret, version) however often the event comes, in either schema', async () => {
    // Prepare
    const { services, sent, ledger, drain } = queued();
    const [viaEventGrid] = eventsOf('secret-near-expiry.eventgrid.json');
    const [viaCloudEvents] = eventsOf('secret-near-expiry.cloudevents.json');

    // Act: repeats answered from memory send nothing; a second instance (no memory) sends again, and its start is a duplicate
    const here = await Promise.all([viaEventGrid, viaCloudEvents, viaEventGrid].map((e) => receiveKeyVaultEvent(e, services)));
    const sentHere = sent.length;
    const elsewhere = await receiveKeyVaultEvent(viaCloudEvents, { ...services, startRotation: (...args: Parameters<typeof services.startRotation>) => services.startRotation(...args) });
    const started = await drain();

    // Assess
    expect(here.map((r) => r.outcome === 'queued' && r.repeat)).toEqual([false, true, true]);
    expect(sentHere).toBe(1);
    expect(elsewhere).toMatchObject({ outcome: 'queued', repeat: false });
    expect(started.map((r) => r.outcome)).toEqual(['started', 'duplicate']);
    expect(ledger.rotations().length).toBe(1);
  });

  it('keeps every check for when the rotation begins: a stale version, an unmanaged secret and a busy one start nothing', async () => {
    // Prepare
    const { services, addVersion, ledger, drain } = queued();
    const [nearExpiry] = eventsOf('secret-near-expiry.eventgrid.json');
    const [expired] = eventsOf('secret-expired.eventgrid-numbers.json');
    const [unmanaged] = eventsOf('secret-near-expiry.docs-quirks.json');
    await receiveKeyVaultEvent(nearExpiry, services);
    await receiveKeyVaultEvent(unmanaged, services);
    await receiveKeyVaultEvent(expired, services);
    // Between the answer and the start: db-password gets a new version, api-key a manual rotation.
    addVersion(secretInfo('db-password', 'aaaabbbbccccddddeeeeffff00001111', { tags: managed }));
    await services.startRotation({ vaultUrl: 'https://sample-kv.vault.azure.net', name: 'api-key' }, { kind: 'manual' });

    // Act
    const results = await drain();

    // Assess
    expect(results).toEqual([
      expect.objectContaining({ outcome: 'ignored', reason: 'stale' }),
      expect.objectContaining({ outcome: 'ignored', reason: 'not-managed' }),
      expect.objectContaining({ outcome: 'ignored', reason: 'busy' }),
    ]);
    expect(ledger.rotations().length).toBe(1);
  });

  it('enqueues nothing for what it can refuse without I/O: another vault, a new version, a malformed event', async () => {
    // Prepare
    const { services, sent } = queued();
    const [newVersion] = eventsOf('secret-new-version-created.docs-sample.json');
    const [event] = eventsOf('secret-near-expiry.eventgrid.json');

    // Act
    const results = [
      await receiveKeyVaultEvent(newVersion, services),
      await receiveKeyVaultEvent({ id: 'x', eventType: 'Microsoft.KeyVault.SecretNearExpiry', data: { Id: 'nope' } }, services),
      await receiveKeyVaultEvent(event, { ...services, allowedVaults: ['https://other-kv.vault.azure.net'] }),
    ];

    // Assess
    expect(results.map((r) => r.outcome)).toEqual(['ignored', 'rejected', 'ignored']);
    expect(sent).toHaveLength(0);
  });

  it('lets a failed send propagate so Event Grid delivers again, and remembers nothing', async () => {
    // Prepare
    const { services, sent } = queued();
    const [event] = eventsOf('secret-near-expiry.eventgrid.json');

    // Act
    const failure = await receiveKeyVaultEvent(event, { ...services, enqueueStart: () => Promise.reject(new Error('queue unreachable')) }).catch((e: unknown) => e);
    const retried = await receiveKeyVaultEvent(event, services);

    // Assess
    expect((failure as Error).message).toBe('queue unreachable');
    expect(retried).toMatchObject({ outcome: 'queued', repeat: false });
    expect(sent).toHaveLength(1);
  });
});
