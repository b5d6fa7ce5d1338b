export { createFakeClock, type FakeClock } from './clock.js';
export { createFakeHealthProbe, type FakeHealthProbe } from './health-probe.js';
export { createFakeLedger, type FakeLedger } from './ledger.js';
export { createFakeNotifier, type FakeNotifier } from './notifier.js';
export { createFakeProvider, type FakeProvider } from './provider-rotator.js';
export { createFakeSecretStore, type FakeSecretStore, type SeedSecret } from './secret-store.js';
export { createFakeStepQueue, type FakeStepQueue, type QueuedStep } from './step-queue.js';
export { createFakeWorld, FAKE_VAULT, fastEngineSettings, type EnginePorts, type FakeWorld, type FakeWorldOptions } from './world.js';
export { partialRotor } from './rotor.js';
