import { describe, expect, it } from 'vitest';
import { createFakeWorld, FAKE_VAULT } from '../../helpers/fakes/index.js';

/**
 * The audit trail is the records' index by time: a rotation's history is
 * appended once, when it ends. Storage refusing audit appends must never leave
 * a secret locked with no step message: the rotation starts, runs and ends as
 * without the trail, and its record keeps every step.
 */
describe('a failing audit trail', () => {
  it('neither blocks a start nor holds a rotation: it completes and releases the lock', async () => {
    // Prepare: every audit append fails.
    let refused = 0;
    const world = createFakeWorld({
      wrapPorts: (ports) => ({
        ...ports,
        ledger: {
          ...ports.ledger,
          appendAudit: () => {
            refused += 1;
            return Promise.reject(new Error('storage refuses appends (block limit)'));
          },
        },
      }),
    });
    const secret = { vaultUrl: FAKE_VAULT, name: 'audited-badly' };
    world.store.seed(secret, { value: 'initial-value-0123456789', tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT1M' } });

    // Act
    const start = await world.engine.startRotation(secret, { kind: 'manual' });
    await world.drain();

    // Assess
    expect(start.outcome).toBe('started');
    expect(refused).toBe(1);
    expect(world.ledger.rotations().map((r) => r.status)).toEqual(['Completed']);
    expect(world.ledger.rotations()[0]!.steps.map((s) => s.step)).toEqual(['begin', 'promote', 'nudge', 'verify', 'retire']);
    expect(world.logs.some((l) => l.message === 'audit trail not written')).toBe(true);
    expect(await world.ledger.activeRotation(secret)).toBeUndefined();
  });
});
