import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginBatch, readBatchProgress } from '../../src/batch/run.js';
import { createControlsHarness, uniqueName } from '../helpers/controls-harness.js';
import { startE2EGround, type E2EGround } from '../helpers/e2e-stack.js';

/**
 * The incident batch at size, end to end on the Key Vault emulator with its
 * real throttle (300 creates and 4,000 other calls per 10 s) and Azurite, on
 * the engine's in-memory queue with real time plus jumps (see
 * controls-harness.ts): the batch's paced begins (60 per 10 s) cost no real
 * waiting while the throttle windows follow the same clock. It runs 200
 * rotations one message at a time, too long for `npm test`: `npm run
 * test:load`, which .ci/run also runs.
 */

let ground: E2EGround;

beforeAll(async () => {
  ground = await startE2EGround();
  ground.kv.admin.throttle.configure({}); // Key Vault's limits: 300 creates and 4,000 other calls per 10 s
}, 120_000);

afterAll(async () => {
  await ground?.stop();
});

describe('the incident batch', () => {
  it('rotates 200 secrets of one vault with 0 failed under the vault throttle', async () => {
    // Prepare: 200 managed secrets, written 20 at a time (the set-up is throttled like everything else)
    const h = await createControlsHarness(ground);
    const prefix = uniqueName('incident');
    const names = Array.from({ length: 200 }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(names.slice(i, i + 20).map((n) => ground.client.setSecret(n, `initial-${n}`, { tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT0S', incident: prefix } })));
      h.clock.advance(1_000);
    }
    const throttledBefore = Object.values(ground.kv.admin.counters().operations).reduce((n, o) => n + o.throttled, 0);

    // Act
    const batch = await beginBatch({ vaultUrl: ground.vaultUrl, selector: { tags: { incident: prefix } }, reason: 'INC-4711', dryRun: false, force: false }, h.services, h.services.batches!);
    await h.drain();
    const progress = await readBatchProgress(batch, h.rotor.ledger);

    // Assess
    expect(batch.items.filter((i) => i.outcome === 'started')).toHaveLength(200);
    expect(progress.done).toBe(true);
    expect(progress.counts.Completed).toBe(200);
    expect(progress.counts.Failed + progress.counts.RolledBack + progress.counts.Aborted).toBe(0);
    // Paced: 60 begins per 10 s; a slot whose time has passed by its start (a slow machine) begins at once.
    const slots = batch.items.flatMap((i) => ('startAt' in i && i.startAt !== undefined ? [Date.parse(i.startAt) - Date.parse(batch.createdAt)] : []));
    expect(slots.every((offset) => offset > 0 && offset % 10_000 === 0)).toBe(true);
    const throttled = Object.values(ground.kv.admin.counters().operations).reduce((n, o) => n + o.throttled, 0) - throttledBefore;
    console.info(`incident batch of 200: ${throttled} calls throttled by the vault emulator`);
  }, 600_000);
});
