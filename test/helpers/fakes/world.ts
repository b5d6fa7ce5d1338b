import { createLogger, createMemorySink, type LogRecord, type Logger } from '../../../src/observability/logger.js';
import { createRotationEngine, type EngineSettings, type RotationEngine, type RotationEngineDeps } from '../../../src/rotation/engine.js';
import type { HealthProbe, Notifier, RotationLedger, SecretStore, StepQueue } from '../../../src/rotation/ports.js';
import { createRandomRotator } from '../../../src/rotators/random/random-rotator.js';
import { createRotatorRegistry, type Rotator } from '../../../src/rotation/rotator.js';
import { drainSteps, type StepPumpOptions, type StepPumpResult } from '../step-pump.js';
import { createFakeClock, type FakeClock } from './clock.js';
import { createFakeHealthProbe, type FakeHealthProbe } from './health-probe.js';
import { createFakeLedger, type FakeLedger } from './ledger.js';
import { createFakeNotifier, type FakeNotifier } from './notifier.js';
import { createFakeSecretStore, type FakeSecretStore } from './secret-store.js';
import { createFakeStepQueue, type FakeStepQueue } from './step-queue.js';

export const FAKE_VAULT = 'https://kv-fake.vault.azure.net';

/** The ports as the engine receives them; `wrapPorts` may replace any (fault injection, crash switches). */
export interface EnginePorts {
  readonly secretStore: SecretStore;
  readonly stepQueue: StepQueue;
  readonly ledger: RotationLedger;
  readonly notifier: Notifier;
  readonly healthProbe: HealthProbe;
  readonly rotators: readonly Rotator[];
}

export interface FakeWorldOptions {
  /** Where the fake clock starts (ms since the epoch); default 2025-06-01T12:00Z. */
  readonly now?: number;
  /** Rotators besides `random` (which is always registered). */
  readonly rotators?: readonly Rotator[];
  readonly settings?: Partial<EngineSettings>;
  readonly wrapPorts?: (ports: EnginePorts) => EnginePorts;
  /** Declared consumers' adapters and registry (src/consumers/); absent: a secret declaring consumers rolls back. */
  readonly consumers?: RotationEngineDeps['consumers'];
}

export interface FakeWorld {
  readonly clock: FakeClock;
  readonly store: FakeSecretStore;
  readonly queue: FakeStepQueue;
  readonly ledger: FakeLedger;
  readonly notifier: FakeNotifier;
  readonly health: FakeHealthProbe;
  readonly logs: LogRecord[];
  readonly logger: Logger;
  readonly engine: RotationEngine;
  /** Delivers queued step messages to `engine.handleStep` until none are left. */
  drain(options?: Partial<Omit<StepPumpOptions, 'queue' | 'clock'>>): Promise<StepPumpResult>;
  /** Everything written anywhere but the vault, as text: for leak scans (I5). */
  texts(): string[];
}

/** Fast backoff so retries cost fake time only; the fake clock makes the size irrelevant, but it keeps numbers small. */
export const fastEngineSettings: Partial<EngineSettings> = { backoff: { baseMs: 1_000, maxMs: 30_000 }, maxStepAttempts: 5 };

/** Every port faked in memory, the engine wired to them, and a pump that runs the queue dry. */
export function createFakeWorld(options: FakeWorldOptions = {}): FakeWorld {
  const clock = createFakeClock(options.now);
  const store = createFakeSecretStore({ now: () => clock.now() });
  const queue = createFakeStepQueue({ now: () => clock.now() });
  const ledger = createFakeLedger({ now: () => clock.now() });
  const notifier = createFakeNotifier();
  const health = createFakeHealthProbe();
  const sink = createMemorySink();
  const logger = createLogger(sink, { level: 'debug' });
  const base: EnginePorts = {
    secretStore: store,
    stepQueue: queue,
    ledger,
    notifier,
    healthProbe: health,
    rotators: [createRandomRotator(), ...(options.rotators ?? [])],
  };
  const ports = options.wrapPorts?.(base) ?? base;
  const engine = createRotationEngine({
    secretStore: ports.secretStore,
    stepQueue: ports.stepQueue,
    ledger: ports.ledger,
    notifier: ports.notifier,
    healthProbe: ports.healthProbe,
    rotators: createRotatorRegistry(ports.rotators),
    ...(options.consumers === undefined ? {} : { consumers: options.consumers }),
    logger,
    clock,
    settings: { ...fastEngineSettings, ...options.settings },
    random: () => 0.5,
  });
  return {
    clock,
    store,
    queue,
    ledger,
    notifier,
    health,
    logs: sink.records,
    logger,
    engine,
    drain: (pumpOptions) => drainSteps({ queue, clock, handle: (body, { deliveryCount }) => engine.handleStep(body as never, { first: deliveryCount === 1 }), ...pumpOptions }),
    texts: () => [
      ...sink.records.map((r) => JSON.stringify(r)),
      ...ledger.blobs(),
      ...queue.sentBodies,
      ...notifier.sent.map((n) => JSON.stringify(n)),
    ],
  };
}
