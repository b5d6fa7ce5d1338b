import { createLogger, createMemorySink } from '../../src/observability/logger.js';
import { parseStepMessage } from '../../src/queue/step-message.js';
import { entryServicesOver } from '../../src/app/compose.js';
import { createRandomRotator } from '../../src/rotators/random/random-rotator.js';
import { createRotatorRegistry } from '../../src/rotation/rotator.js';
import type { EntryServices } from '../../src/entry/services.js';
import { createE2ERotor, type E2EGround, type E2ERotor } from './e2e-stack.js';
import type { FakeClock } from './fakes/clock.js';
import { createFakeStepQueue, type FakeStepQueue } from './fakes/step-queue.js';
import { createMemoryBatchStore } from './memory-batch-store.js';
import { drainSteps } from './step-pump.js';

/**
 * Rotor over the end-to-end ground (Key Vault emulator, Azurite) on the
 * engine's in-memory queue, for the when-to-rotate controls. Time is real time
 * plus jumps: when nothing is due, the engine's clock and the emulator's clock
 * jump together to the next scheduled message, so a window hours away opens in
 * milliseconds and the vault's 10-second throttle windows follow the same clock
 * (the emulator's clock never moves back, so its throttle is never reset).
 */
export interface ControlsHarness {
  readonly clock: FakeClock;
  readonly queue: FakeStepQueue;
  readonly rotor: E2ERotor;
  readonly services: EntryServices;
  /** Delivers every message, scheduled ones included, one at a time. */
  drain(afterDelivery?: () => Promise<void>): Promise<void>;
}

const DAY = 86_400_000;

function sharedClock(ground: E2EGround): FakeClock {
  let offset = ground.kv.admin.clock.now().getTime() - Date.now();
  const jump = (ms: number): void => {
    if (ms <= 0) return;
    offset += ms;
    ground.kv.admin.clock.advance(ms);
  };
  return { now: () => new Date(Date.now() + offset), advance: jump, set: (ms) => jump(ms - (Date.now() + offset)) };
}

export async function createControlsHarness(ground: E2EGround): Promise<ControlsHarness> {
  const clock = sharedClock(ground);
  const queue = createFakeStepQueue({ now: () => clock.now() });
  const rotor = await createE2ERotor(ground, { stepQueue: queue, clock, settings: { backoff: { baseMs: 1_000, maxMs: 20_000 }, maxStepAttempts: 8 } });
  const registry = createRotatorRegistry([createRandomRotator()]);
  const services = entryServicesOver({
    engine: rotor.engine,
    secretStore: rotor.secretStore,
    ledger: rotor.ledger,
    batches: createMemoryBatchStore(),
    rotators: registry,
    allowedVaults: [ground.vaultUrl],
    expiryHorizonMs: 30 * DAY,
    clock,
    logger: createLogger(createMemorySink(), { level: 'warn' }),
  });
  const drain = async (afterDelivery?: () => Promise<void>): Promise<void> => {
    await drainSteps({
      queue,
      clock,
      handle: async (body, { deliveryCount }) => {
        const parsed = parseStepMessage(body);
        if (!parsed.ok) throw new Error(parsed.problem);
        return rotor.engine.handleStep(parsed.message, { first: deliveryCount === 1 });
      },
      ...(afterDelivery === undefined ? {} : { afterDelivery }),
      maxDeliveriesInTotal: 20_000,
    });
  };
  return { clock, queue, rotor, services, drain };
}

/** A secret name no other test of the shared ground uses. */
export function uniqueName(base: string): string {
  return `${base}-${Math.random().toString(36).slice(2, 8)}`;
}
