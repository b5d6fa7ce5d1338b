import { describe, expect, it } from 'vitest';
import { isServiceBusEmulatorError, parseQueueConfig, rotorQueues } from '../../../../emulators/servicebus/index.js';
import { ReadyList } from '../../../../emulators/servicebus/ready-list.js';

describe('ReadyList', () => {
  it('keeps items in queue order, an item that returns going back to its place', () => {
    // Prepare
    const list = new ReadyList<{ order: number; name: string }>();
    const [a, b, c] = [1, 2, 3].map((order) => ({ order, name: `m${order}` }));

    // Act
    list.insert(b!);
    list.insert(c!);
    list.insert(a!);
    list.remove(b!);
    list.insert(b!);

    // Assess
    expect([...list].map((x) => x.name)).toEqual(['m1', 'm2', 'm3']);
    expect(list.first()).toBe(a);
  });

  it('removes the exact item among equal orders', () => {
    // Prepare
    const list = new ReadyList<{ order: number; name: string }>();
    const first = { order: 5, name: 'first' };
    const copy = { order: 5, name: 'copy' };
    list.insert(first);
    list.insert(copy);

    // Act
    const removed = list.remove(copy);

    // Assess
    expect(removed).toBe(true);
    expect([...list].map((x) => x.name)).toEqual(['first']);
  });
});

describe('parseQueueConfig', () => {
  it('fills in the service defaults', () => {
    expect(parseQueueConfig({ name: 'q' })).toEqual({
      name: 'q',
      requiresSession: false,
      lockDurationMs: 60_000,
      maxDeliveryCount: 10,
      deadLetteringOnMessageExpiration: false,
      maxMessageSizeBytes: 262_144,
    });
  });

  it.each([
    { input: {}, field: 'name' },
    { input: { name: 'has space' }, field: 'name' },
    { input: { name: 'q', lockDurationMs: 301_000 }, field: 'lockDurationMs' },
    { input: { name: 'q', duplicateDetectionWindowMs: 8 * 24 * 3600 * 1000 }, field: 'duplicateDetectionWindowMs' },
    { input: { name: 'q', maxMessageSizeBytes: 10 }, field: 'maxMessageSizeBytes' },
  ])('names $field when it is wrong', ({ input, field }) => {
    let caught: unknown;
    try {
      parseQueueConfig(input);
    } catch (error) {
      caught = error;
    }
    expect(isServiceBusEmulatorError(caught) && caught.field).toBe(field);
  });

  it('accepts Rotor’s own queue configuration', () => {
    const [steps] = rotorQueues.map(parseQueueConfig);
    expect(steps).toMatchObject({ name: 'rotation-steps', requiresSession: true, maxDeliveryCount: 10, lockDurationMs: 60_000, deadLetteringOnMessageExpiration: true });
    expect(steps!.duplicateDetectionWindowMs).toBe(24 * 3600 * 1000);
  });
});
