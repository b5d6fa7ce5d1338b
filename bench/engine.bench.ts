/**
 * Rotation engine throughput: on in-memory fakes (the engine's own cost), and
 * on the Key Vault emulator + Azurite (real SDK clients, in-memory queue with
 * virtual time, so grace periods cost nothing). Counts calls per rotation too:
 * Key Vault's throttle (about 300 creates and 4,000 other calls per 10 s per
 * vault) is the ceiling in Azure.
 */
import { performance } from 'node:perf_hooks';
import { createE2ERotor, startE2EGround } from '../test/helpers/e2e-stack.js';
import { memoryTransport } from '../test/helpers/e2e-transport.js';
import { createFakeWorld, FAKE_VAULT } from '../test/helpers/fakes/index.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function onFakes(count: number): Promise<void> {
  const world = createFakeWorld();
  const refs = Array.from({ length: count }, (_, i) => ({ vaultUrl: FAKE_VAULT, name: `bench-${i}` }));
  for (const ref of refs) world.store.seed(ref, { value: `initial-value-${ref.name}`, tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT1M' } });
  const started = performance.now();
  for (const ref of refs) await world.engine.startRotation(ref, { kind: 'manual' });
  await world.drain();
  const ms = performance.now() - started;
  const completed = world.ledger.rotations().filter((r) => r.status === 'Completed').length;
  console.log(`fakes: ${completed}/${count} rotations in ${ms.toFixed(0)} ms (${((count / ms) * 1000).toFixed(0)} rotations/s); vault calls per rotation: ${((world.store.calls.read + world.store.calls.write) / count).toFixed(1)} (${(world.store.calls.write / count).toFixed(1)} writes); ledger audit entries per rotation: ${(world.ledger.audit.length / count).toFixed(1)}`);
}

async function onEmulators(count: number): Promise<void> {
  const ground = await startE2EGround();
  try {
    const transport = memoryTransport();
    const rotor = await createE2ERotor(ground, { stepQueue: transport.stepQueue, clock: transport.clock });
    const durations: number[] = [];
    ground.kv.admin.resetCounters();
    for (let i = 0; i < count; i += 1) {
      const name = `bench-kv-${i}-${Date.now().toString(36)}`;
      await ground.client.setSecret(name, `initial-value-${name}`, { tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT1M' } });
      const started = performance.now();
      const start = await rotor.engine.startRotation({ vaultUrl: ground.vaultUrl, name }, { kind: 'manual' });
      await transport.deliverAll(
        (body) => rotor.engine.handleStep(body as never),
        { until: async () => (await rotor.ledger.getRotation((start as { rotationId: string }).rotationId))?.value.status === 'Completed' },
      );
      durations.push(performance.now() - started);
    }
    const ops = Object.values(ground.kv.admin.counters().operations);
    const calls = ops.reduce((sum, c) => sum + (c?.calls ?? 0), 0) - count; // minus the set-up writes
    console.log(`emulators: ${count} sequential rotations, median ${median(durations).toFixed(1)} ms, max ${Math.max(...durations).toFixed(1)} ms each; Key Vault calls per rotation ${(calls / count).toFixed(1)}`);
  } finally {
    await ground.stop();
  }
}

export default async function run(): Promise<void> {
  await onFakes(1_000);
  await onEmulators(50);
}
