import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginBatch, readBatchProgress } from '../../src/batch/run.js';
import { createLogger, createMemorySink } from '../../src/observability/logger.js';
import { parseStepMessage } from '../../src/queue/step-message.js';
import { readPolicy } from '../../src/rotation/policy.js';
import { createRandomRotator } from '../../src/rotators/random/random-rotator.js';
import { createRotatorRegistry } from '../../src/rotators/rotator.js';
import type { WaysInServices } from '../../src/ways-in/services.js';
import { createE2ERotor, startE2EGround, type E2EGround, type E2ERotor } from '../helpers/e2e-stack.js';
import type { FakeClock } from '../helpers/fakes/clock.js';
import { createFakeStepQueue, type FakeStepQueue } from '../helpers/fakes/step-queue.js';
import { createMemoryBatchStore } from '../helpers/memory-batch-store.js';
import { drainSteps } from '../helpers/step-pump.js';

/**
 * The incident batch at size, end to end on the Key Vault emulator with its
 * real throttle (300 creates and 4,000 other calls per 10 s) and Azurite, on
 * the engine's in-memory queue. Time is real time plus jumps: when nothing is
 * due, the engine's clock and the emulator's jump together to the next
 * scheduled message, so the batch's paced begins (60 per 10 s) cost no real
 * waiting while the throttle windows follow the same clock. It runs 200
 * rotations one message at a time, too long for `npm test`: `npm run
 * test:load`, which .ci/run also runs.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let ground: E2EGround;

beforeAll(async () => {
  ground = await startE2EGround();
  ground.kv.admin.throttle.configure({}); // Key Vault's limits: 300 creates and 4,000 other calls per 10 s
}, 120_000);

afterAll(async () => {
  await ground?.stop();
});

/** Real time plus jumps, shared with the emulator's clock (which never moves back, so its throttle is never reset). */
function sharedClock(): FakeClock {
  let offset = ground.kv.admin.clock.now().getTime() - Date.now();
  const jump = (ms: number): void => {
    if (ms <= 0) return;
    offset += ms;
    ground.kv.admin.clock.advance(ms);
  };
  return { now: () => new Date(Date.now() + offset), advance: jump, set: (ms) => jump(ms - (Date.now() + offset)) };
}

interface Harness {
  readonly clock: FakeClock;
  readonly queue: FakeStepQueue;
  readonly rotor: E2ERotor;
  readonly services: WaysInServices;
  drain(afterDelivery?: () => Promise<void>): Promise<void>;
}

async function harness(): Promise<Harness> {
  const clock = sharedClock();
  const queue = createFakeStepQueue({ now: () => clock.now() });
  const rotor = await createE2ERotor(ground, { stepQueue: queue, clock, settings: { backoff: { baseMs: 1_000, maxMs: 20_000 }, maxStepAttempts: 8 } });
  const registry = createRotatorRegistry([createRandomRotator()]);
  const services: WaysInServices = {
    allowedVaults: [ground.vaultUrl],
    expiryHorizonMs: 30 * DAY,
    startRotation: rotor.engine.startRotation,
    resumeRotation: (id) => rotor.engine.resumeRotation(id),
    failRotation: (message, reason) => rotor.engine.failRotation(message, reason),
    cancelRotation: (id, options) => rotor.engine.cancelRotation(id, options),
    secrets: rotor.secretStore,
    ledger: rotor.ledger,
    batches: createMemoryBatchStore(),
    readPolicy: (tags) => {
      const reading = readPolicy(tags, { rotators: registry });
      return reading.kind === 'valid' ? { kind: 'valid', policy: reading.policy } : reading;
    },
    clock,
    log: createLogger(createMemorySink(), { level: 'warn' }),
  };
  const drain = async (afterDelivery?: () => Promise<void>): Promise<void> => {
    await drainSteps({
      queue,
      clock,
      handle: async (body) => {
        const parsed = parseStepMessage(body);
        if (!parsed.ok) throw new Error(parsed.problem);
        return rotor.engine.handleStep(parsed.message);
      },
      ...(afterDelivery === undefined ? {} : { afterDelivery }),
      maxDeliveriesInTotal: 20_000,
    });
  };
  return { clock, queue, rotor, services, drain };
}

const unique = (base: string): string => `${base}-${Math.random().toString(36).slice(2, 8)}`;

describe('the incident batch', () => {
  it('rotates 200 secrets of one vault with 0 failed under the vault throttle', async () => {
    // Prepare: 200 managed secrets, written 20 at a time (the set-up is throttled like everything else)
    const h = await harness();
    const prefix = unique('incident');
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
    // Paced: 60 begins per 10 s, so the last ones were scheduled 30 s after the first.
    expect(new Set(batch.items.map((i) => ('startAt' in i ? i.startAt : 'now'))).size).toBe(4);
    const throttled = Object.values(ground.kv.admin.counters().operations).reduce((n, o) => n + o.throttled, 0) - throttledBefore;
    console.info(`incident batch of 200: ${throttled} calls throttled by the vault emulator`);
  }, 600_000);
});
