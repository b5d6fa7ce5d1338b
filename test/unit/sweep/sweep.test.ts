import { describe, expect, it } from 'vitest';
import { isStalled, runSweep, SWEEP_CONCURRENCY } from '../../../src/sweep/sweep.js';
import { createFakeWorld, FAKE_VAULT, type FakeWorld } from '../../helpers/fakes/index.js';
import { createFakeWaysIn, secretInfo, waysInOverWorld } from '../../helpers/fakes/entry.js';

const DAY = 86_400_000;
const managed = { 'rotor-rotator': 'random' };
const NOW = '2026-11-22T10:00:00Z';

/** A fake world whose first message for `step` never reaches the queue; `lose` says how the send ends. */
function worldLosingFirst(step: string, lose: () => Promise<void>): FakeWorld {
  let lost = false;
  return createFakeWorld({
    wrapPorts: (ports) => ({
      ...ports,
      stepQueue: {
        sendStep: (message, options) => {
          if (lost || message.step !== step) return ports.stepQueue.sendStep(message, options);
          lost = true;
          return lose();
        },
      },
    }),
  });
}

describe('runSweep', () => {
  it('starts managed secrets due within the horizon, keyed by their version, and nothing else', async () => {
    // Prepare
    const { services, calls, ledger } = createFakeWaysIn({
      now: NOW,
      secrets: [
        secretInfo('due-by-expiry', 'a1', { tags: managed, expiresOn: '2026-12-10T00:00:00Z' }),
        secretInfo('not-yet', 'b1', { tags: managed, expiresOn: '2027-06-01T00:00:00Z' }),
        secretInfo('due-by-interval', 'c1', { tags: { ...managed, 'rotor-validity': 'P60D' }, createdOn: '2026-09-01T00:00:00Z' }),
        secretInfo('unmanaged-expiring', 'd1', { expiresOn: '2026-11-23T00:00:00Z' }),
        secretInfo('disabled', 'e1', { tags: managed, expiresOn: '2026-11-23T00:00:00Z', enabled: false }),
        secretInfo('no-dates', 'f1', { tags: managed }),
      ],
    });

    // Act
    const report = await runSweep(services);

    // Assess
    expect(calls.map((c) => c.secret.name)).toEqual(['due-by-expiry', 'due-by-interval']);
    expect(calls[0]?.trigger).toEqual({ kind: 'sweep', version: 'a1' });
    expect(report).toMatchObject({ scanned: 6, managed: 5, errors: [] });
    expect(report.started).toHaveLength(2);
    expect(ledger.rotations().map((r) => [r.secret.name, r.trigger, r.status]).sort()).toEqual([
      ['due-by-expiry', { kind: 'sweep', version: 'a1' }, 'Running'],
      ['due-by-interval', { kind: 'sweep', version: 'c1' }, 'Running'],
    ]);
  });

  it('starts the rotation a missed event would have, so the event arriving later starts nothing (real engine)', async () => {
    const world = createFakeWorld();
    const secret = { vaultUrl: FAKE_VAULT, name: 'orders-api-key' };
    const version = world.store.seed(secret, { value: 'initial-value-0123456789', tags: managed, expiresOn: new Date(world.clock.now().getTime() + 10 * DAY) });
    const services = waysInOverWorld(world);

    const report = await runSweep(services);
    const late = await services.startRotation(secret, { kind: 'event', eventType: 'Microsoft.KeyVault.SecretNearExpiry', version });
    await world.drain();

    expect(report.started).toHaveLength(1);
    expect(late.outcome).not.toBe('started');
    expect(world.ledger.rotations().map((r) => r.status)).toEqual(['Completed']);
  });

  it('checks secrets in parallel, never more than SWEEP_CONCURRENCY at once', async () => {
    // Prepare: 100 managed secrets whose lock reads wait until released by hand.
    const { services } = createFakeWaysIn({
      now: NOW,
      secrets: Array.from({ length: 100 }, (_, i) => secretInfo(`s-${i}`, `v${i}`, { tags: managed, expiresOn: '2027-06-01T00:00:00Z' })),
    });
    let active = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const ledger = {
      ...services.ledger,
      activeRotation: async () => {
        active += 1;
        most = Math.max(most, active);
        await new Promise<void>((resolve) => gates.push(resolve));
        active -= 1;
        return undefined;
      },
    };
    const opener = setInterval(() => gates.splice(0).forEach((open) => open()), 1);

    // Act
    const report = await runSweep({ ...services, ledger }).finally(() => clearInterval(opener));

    // Assess
    expect(report).toMatchObject({ scanned: 100, managed: 100, errors: [] });
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(SWEEP_CONCURRENCY);
  });

  it('leaves a secret whose rotation is active and within its deadline alone', async () => {
    const world = createFakeWorld();
    const secret = { vaultUrl: FAKE_VAULT, name: 'orders-api-key' };
    world.store.seed(secret, { value: 'initial-value-0123456789', tags: managed, expiresOn: new Date(world.clock.now().getTime() + 10 * DAY) });
    await world.engine.startRotation(secret, { kind: 'manual' });

    const report = await runSweep(waysInOverWorld(world));

    expect(report.started).toEqual([]);
    expect(report.recovered).toEqual([]);
  });

  it('resumes a rotation whose next message was never sent, once its deadline has passed', async () => {
    // The process died between the ledger write and sending promote: nothing would ever move the rotation.
    const world = worldLosingFirst('promote', () => Promise.resolve());
    const secret = { vaultUrl: FAKE_VAULT, name: 'orders-api-key' };
    world.store.seed(secret, { value: 'initial-value-0123456789', tags: managed });
    const started = await world.engine.startRotation(secret, { kind: 'manual' });
    const rotationId = started.outcome === 'started' ? started.rotationId : '';
    await world.drain();
    const stalled = world.ledger.rotations()[0];
    const early = await runSweep(waysInOverWorld(world));
    world.clock.set(Date.parse(stalled!.deadline) + 1);

    const report = await runSweep(waysInOverWorld(world));
    await world.drain();

    expect(stalled).toMatchObject({ status: 'Running', step: 'promote' });
    expect(early.recovered).toEqual([]);
    expect(report.recovered).toEqual([{ rotationId, outcome: 'resent' }]);
    expect(['Failed', 'Completed', 'RolledBack', 'Aborted']).toContain(world.ledger.rotations()[0]?.status);
    expect(world.ledger.locks().size).toBe(0);
  });

  it('resumes a rotation whose begin never went out (a kill between the record and the send) once it is ROTOR_STALL_AFTER overdue, long before its deadline', async () => {
    // Found by the chaos suite: a near-expiry event's rotation held the lock for its whole 2-hour deadline.
    const world = worldLosingFirst('begin', () => Promise.reject(new Error('killed before the send')));
    const secret = { vaultUrl: FAKE_VAULT, name: 'orders-api-key' };
    world.store.seed(secret, { value: 'initial-value-0123456789', tags: managed });
    await expect(world.engine.startRotation(secret, { kind: 'manual' })).rejects.toThrow('killed before the send');
    const stalled = world.ledger.rotations()[0]!;
    const services = { ...waysInOverWorld(world), stallAfterMs: 120_000 };
    world.clock.set(Date.parse(stalled.updatedAt) + 120_000);
    const early = await runSweep(services);
    world.clock.set(Date.parse(stalled.updatedAt) + 120_001);

    const report = await runSweep(services);
    await world.drain();

    expect(stalled).toMatchObject({ status: 'Running', step: 'begin', steps: [] });
    expect(early.recovered).toEqual([]);
    expect(report.recovered).toEqual([{ rotationId: stalled.id, outcome: 'resent' }]);
    expect(world.ledger.rotations()[0]).toMatchObject({ id: stalled.id, status: 'Completed' });
    expect(Date.parse(stalled.deadline)).toBeGreaterThan(world.clock.now().getTime() + 3_600_000);
    expect(world.ledger.locks().size).toBe(0);
  });

  it('leaves a rotation waiting for a scheduled message alone until that message is ROTOR_STALL_AFTER overdue', async () => {
    const world = createFakeWorld();
    const secret = { vaultUrl: FAKE_VAULT, name: 'orders-api-key' };
    world.store.seed(secret, { value: 'initial-value-0123456789', tags: { ...managed, 'rotor-grace': 'PT1H' } });
    await world.engine.startRotation(secret, { kind: 'manual' });
    // Run what is due now only: the rotation then waits for verify, scheduled after the hour's grace.
    for (let due = world.queue.nextDue(world.clock.now().getTime()); due !== undefined; due = world.queue.nextDue(world.clock.now().getTime())) {
      await world.engine.handleStep(due.body);
      world.queue.complete(due);
    }
    const waiting = world.ledger.rotations()[0]!;
    const services = { ...waysInOverWorld(world), stallAfterMs: 120_000 };
    world.clock.set(Date.parse(waiting.updatedAt) + 600_000);
    const inGrace = await runSweep(services);
    world.clock.set(Date.parse(waiting.notBefore!) + 120_001);

    const overdue = await runSweep(services);

    expect(waiting).toMatchObject({ status: 'Running', step: 'verify' });
    expect(Date.parse(waiting.notBefore!)).toBeGreaterThan(Date.parse(waiting.updatedAt) + 3_000_000);
    expect(inGrace.recovered).toEqual([]);
    expect(overdue.recovered).toEqual([{ rotationId: waiting.id, outcome: 'resent' }]);
    expect(isStalled({ ...waiting, status: 'Completed' }, world.clock.now(), 120_000)).toBe(false);
  });

  it('reports a secret it could not handle and carries on with the rest', async () => {
    const { services } = createFakeWaysIn({
      now: NOW,
      secrets: [secretInfo('first', 'a1', { tags: managed, expiresOn: '2026-12-01T00:00:00Z' }), secretInfo('second', 'b1', { tags: managed, expiresOn: '2026-12-01T00:00:00Z' })],
    });
    let calls = 0;
    const flaky = { ...services, startRotation: (...args: Parameters<typeof services.startRotation>) => (++calls === 1 ? Promise.reject(new Error('queue down')) : services.startRotation(...args)) };

    const report = await runSweep(flaky);

    expect(report.errors).toEqual([{ secret: 'sample-kv.vault.azure.net/first', message: 'queue down' }]);
    expect(report.started).toHaveLength(1);
  });
});
