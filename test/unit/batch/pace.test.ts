import { describe, expect, it } from 'vitest';
import { paceFromBudget } from '../../../src/batch/run.js';
import { createMemoryPacingStore, createVaultPacer } from '../../../src/pacing/vault-pacer.js';
import { createFakeClock } from '../../helpers/fakes/clock.js';

const VAULT = 'https://kv-one.vault.azure.net';

describe("a batch's pace from the vault's shared budget", () => {
  it('begins as many rotations per 10 s as the budget has creates for, two per rotation, and fewer after a 429', async () => {
    // Prepare
    const clock = createFakeClock(Date.parse('2026-12-05T01:00:00.000Z'));
    const shared = createMemoryPacingStore();
    const pacer = createVaultPacer({ store: shared, clock });
    const sharedVault = createVaultPacer({ store: createMemoryPacingStore(), clock, targetFor: () => 0.3 });

    // Act
    const full = await paceFromBudget(pacer, VAULT);
    const lowTarget = await paceFromBudget(sharedVault, VAULT);
    await pacer.throttled(VAULT);
    const afterThrottle = await paceFromBudget(pacer, VAULT);

    // Assess: 0.9 × 300 = 270 creates → 135 begins; a vault shared at 0.3 → 45; halved → 67
    expect(full).toEqual({ perWindow: 135, windowMs: 10_000 });
    expect(lowTarget.perWindow).toBe(45);
    expect(afterThrottle.perWindow).toBe(67);
  });
});
