import { describe, expect, it } from 'vitest';
import { deadLetterReasonOf, handleDeadLetteredStep } from '../../../src/recovery/dead-letter.js';
import { stepSessionId } from '../../../src/queue/step-message.js';
import { Strategy } from '../../../src/rotation/model.js';
import { createFakeProvider, createFakeWorld, FAKE_VAULT, type FakeWorld } from '../../helpers/fakes/index.js';
import { createFakeWaysIn, waysInOverWorld } from '../../helpers/fakes/entry.js';

const DAY = 86_400_000;
const secret = { vaultUrl: FAKE_VAULT, name: 'orders-api-key' };
const health = 'https://orders.example/health';
const dlq = {
  sessionId: stepSessionId(secret),
  deliveryCount: 10,
  applicationProperties: { DeadLetterReason: 'MaxDeliveryCountExceeded', DeadLetterErrorDescription: 'Message could not be consumed after 10 delivery attempts.' },
};

/** Runs only the steps due now (no clock moves): a rotation with a grace period stops at verify, promoted. */
async function runDueSteps(world: FakeWorld): Promise<void> {
  for (let message = world.queue.nextDue(world.clock.now().getTime()); message !== undefined; message = world.queue.nextDue(world.clock.now().getTime())) {
    await world.engine.handleStep(structuredClone(message.body));
    world.queue.complete(message);
  }
}

/** Delivers messages (moving the clock to each one's time) until the rotation's current step is `step`. */
async function runUntil(world: FakeWorld, step: string): Promise<void> {
  while (world.ledger.rotations()[0]?.step !== step) {
    const dueAt = world.queue.nextDueAt();
    if (dueAt === undefined) throw new Error(`the rotation stopped before ${step}`);
    if (dueAt > world.clock.now().getTime()) world.clock.advance(dueAt - world.clock.now().getTime());
    const message = world.queue.nextDue(world.clock.now().getTime())!;
    await world.engine.handleStep(structuredClone(message.body));
    world.queue.complete(message);
  }
}

describe('a dead letter after verify (alternating, revoke-after)', () => {
  it.each(['retire', 'revoke'])('at %s ends Failed and keeps the verified credential, never rolling back', async (step) => {
    // Prepare
    const initial = 'initial-credential-0123456789';
    const provider = createFakeProvider({ strategy: Strategy.Alternating, initial });
    const world = createFakeWorld({ rotators: [provider.rotator] });
    world.store.seed(secret, {
      value: initial,
      tags: { 'rotor-rotator': provider.rotator.kind, 'rotor-slot': 'key1', 'rotor-grace': 'PT5M', 'rotor-revoke-after': 'PT1H' },
      expiresOn: new Date(world.clock.now().getTime() + 10 * DAY),
    });
    const started = await world.engine.startRotation(secret, { kind: 'manual' });
    const rotationId = started.outcome === 'started' ? started.rotationId : '';
    await runUntil(world, step);
    world.queue.pending.splice(0); // the message Service Bus gave up on is no longer in the queue
    const verified = world.store.versions(secret).at(-1)!;

    // Act
    const result = await handleDeadLetteredStep({ body: { rotationId, secret, step, attempt: 1 }, metadata: dlq }, waysInOverWorld(world));
    await world.drain();

    // Assess
    expect(result.outcome).toBe('failed');
    const rotation = world.ledger.rotations()[0]!;
    expect(rotation.status).toBe('Failed');
    expect(rotation.reason).toContain('MaxDeliveryCountExceeded');
    expect(rotation.steps.map((s) => s.step)).not.toContain('rollback');
    expect(rotation.versions.restored).toBeUndefined();
    expect(world.store.versions(secret).at(-1)).toMatchObject({ version: verified.version, enabled: true });
    expect(world.store.versions(secret).at(-1)!.value).not.toBe(initial);
    expect(provider.accepts(verified.value)).toBe(true);
    expect(provider.calls.restore).toBe(0);
    expect(world.notifier.sent.map((n) => n.type)).toEqual(['Rotor.Rotation.Started', 'Rotor.Rotation.Failed']);
    expect(world.ledger.locks().size).toBe(0);
  });
});

describe('handleDeadLetteredStep (real engine, fake ports)', () => {
  it('fails a rotation that had changed nothing, with the reason, and notifies', async () => {
    // Prepare
    const world = createFakeWorld();
    world.health.setHealthy(health, true);
    world.store.seed(secret, { value: 'initial-value-0123456789', tags: { 'rotor-rotator': 'random', 'rotor-health': health } });
    const started = await world.engine.startRotation(secret, { kind: 'manual' });
    const rotationId = started.outcome === 'started' ? started.rotationId : '';

    // Act: the begin message itself is what Service Bus gave up on.
    const result = await handleDeadLetteredStep({ body: { rotationId, secret, step: 'begin', attempt: 1 }, metadata: dlq }, waysInOverWorld(world));

    // Assess
    expect(result).toMatchObject({ outcome: 'failed', rotationId });
    const rotation = world.ledger.rotations()[0];
    expect(rotation).toMatchObject({ status: 'Failed' });
    expect(rotation?.reason).toContain('MaxDeliveryCountExceeded');
    expect(world.ledger.locks().size).toBe(0);
    expect(world.notifier.sent.map((n) => n.type)).toContain('Rotor.Rotation.Failed');
  });

  it('hands a promoted rotation to rollback, which restores the previous value', async () => {
    const world = createFakeWorld();
    world.health.setHealthy(health, true);
    const previous = world.store.seed(secret, {
      value: 'initial-value-0123456789',
      tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT5M', 'rotor-health': health },
      expiresOn: new Date(world.clock.now().getTime() + 10 * DAY),
    });
    const started = await world.engine.startRotation(secret, { kind: 'manual' });
    const rotationId = started.outcome === 'started' ? started.rotationId : '';
    await runDueSteps(world);
    const waiting = world.ledger.rotations()[0]!;

    const result = await handleDeadLetteredStep(
      { body: { rotationId, secret, step: waiting.step, attempt: waiting.attempt ?? 1 }, metadata: dlq },
      waysInOverWorld(world),
    );
    await world.drain();

    expect(waiting).toMatchObject({ step: 'verify', versions: { promoted: expect.any(String) as unknown } });
    expect(result.outcome).toBe('rolling-back');
    expect(world.ledger.rotations()[0]?.status).toBe('RolledBack');
    expect(world.store.versions(secret).at(-1)?.value).toBe(world.store.versions(secret).find((v) => v.version === previous)?.value);
  });

  it('traces an unreadable body through its session to the rotation holding the lock', async () => {
    const world = createFakeWorld();
    world.store.seed(secret, { value: 'initial-value-0123456789', tags: { 'rotor-rotator': 'random' } });
    const started = await world.engine.startRotation(secret, { kind: 'manual' });

    const result = await handleDeadLetteredStep({ body: 'garbage{', metadata: { ...dlq, deadLetterReason: 'BadStepMessage' } }, waysInOverWorld(world));

    expect(result).toMatchObject({ outcome: 'failed', rotationId: started.outcome === 'started' ? started.rotationId : '' });
    expect(world.ledger.rotations()[0]?.reason).toContain('BadStepMessage');
  });

  it('ignores a message the rotation is already past', async () => {
    const world = createFakeWorld();
    world.store.seed(secret, { value: 'initial-value-0123456789', tags: { 'rotor-rotator': 'random' } });
    const started = await world.engine.startRotation(secret, { kind: 'manual' });
    const rotationId = started.outcome === 'started' ? started.rotationId : '';
    await world.drain();

    const result = await handleDeadLetteredStep({ body: { rotationId, secret, step: 'begin', attempt: 1 }, metadata: dlq }, waysInOverWorld(world));

    expect(result.outcome).toBe('ignored');
    expect(world.ledger.rotations()[0]?.status).toBe('Completed');
  });

  it('drops a dead-lettered event start without ending any rotation, not even the one its session holds', async () => {
    // Prepare: a rotation of the same secret is running (its session is the start message's session)
    const world = createFakeWorld();
    const version = world.store.seed(secret, { value: 'initial-value-0123456789', tags: { 'rotor-rotator': 'random' } });
    const running = await world.engine.startRotation(secret, { kind: 'manual' });
    const before = world.ledger.rotations();
    const body = { start: { secret, version, eventType: 'Microsoft.KeyVault.SecretNearExpiry', eventId: 'ev-1' } };

    // Act
    const result = await handleDeadLetteredStep({ body, metadata: dlq }, waysInOverWorld(world));

    // Assess
    expect(running.outcome).toBe('started');
    expect(result).toEqual({ outcome: 'start-dropped', reason: expect.stringContaining('MaxDeliveryCountExceeded') });
    expect(world.ledger.rotations()).toEqual(before);
    expect(world.ledger.rotations()).toEqual([expect.objectContaining({ status: 'Running', step: 'begin' })]);
    expect(world.logs.at(-1)).toMatchObject({ level: 'error', message: expect.stringContaining('event start dropped') });
  });

  it('logs a message that names no rotation at all', async () => {
    const { services, logs, ledger } = createFakeWaysIn();

    const result = await handleDeadLetteredStep({ body: 12, metadata: undefined }, services);

    expect(result).toEqual({ outcome: 'unattributable', reason: 'unknown reason' });
    expect(ledger.rotations()).toEqual([]);
    expect(logs.at(-1)).toMatchObject({ level: 'error' });
  });

  it.each([
    [{ deadLetterReason: 'X', deadLetterErrorDescription: 'Y' }, 'X: Y'],
    [{ applicationProperties: { DeadLetterReason: 'Only' } }, 'Only'],
    ['not an object', 'unknown reason'],
  ])('words the reason from %j', (metadata, reason) => {
    expect(deadLetterReasonOf(metadata)).toBe(reason);
  });
});
