import { InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRotationStepsHandler } from '../../functions/rotationSteps.js';
import type { SecretRef } from '../../src/keyvault/secret-ref.js';
import { isTerminal } from '../../src/rotation/model.js';
import { pendingSecretName } from '../../src/rotation/pending.js';
import { crashingPorts, replayEveryCrash, untilNoCrash, expectCrashPropagated } from '../helpers/crash-replay.js';
import { createE2ERotor, startE2EGround, versionsOf, type E2EGround, type E2ERotor } from '../helpers/e2e-stack.js';
import { memoryTransport, type StepTransport } from '../helpers/e2e-transport.js';
import { expectNoSecretIn } from '../helpers/leaks.js';

let ground: E2EGround;
let counter = 0;

beforeAll(async () => {
  ground = await startE2EGround();
});

afterAll(async () => {
  await ground.stop();
});

function handlerFor(rotor: E2ERotor): (body: unknown) => Promise<unknown> {
  const handle = createRotationStepsHandler(() => Promise.resolve(rotor.engine));
  const context = new InvocationContext({ functionName: 'rotationSteps', logHandler: () => undefined });
  return (body) => handle(body, context);
}

async function managedSecret(prefix: string, extraTags: Record<string, string> = {}): Promise<{ ref: SecretRef; version: string; initial: string }> {
  counter += 1;
  const name = `${prefix}-${counter}-${Date.now().toString(36)}`;
  const initial = `initial-${name}-0123456789`;
  const written = await ground.client.setSecret(name, initial, {
    tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT1M', 'rotor-health': ground.consumer.healthUrl(name), ...extraTags },
  });
  return { ref: { vaultUrl: ground.vaultUrl, name }, version: written.properties.version ?? '', initial };
}

/** Every rotation of these secrets has ended (and there is at least one each). Secrets seen ended are not asked again. */
function allEnded(rotor: E2ERotor, refs: readonly SecretRef[]): () => Promise<boolean> {
  const open = new Set(refs);
  return async () => {
    const pages = await Promise.all([...open].map(async (ref) => ({ ref, page: await rotor.ledger.listRotations(ref) })));
    for (const { ref, page } of pages) if (page.items.length > 0 && page.items.every((item) => isTerminal(item.status))) open.delete(ref);
    return open.size === 0;
  };
}

interface CrashWorld {
  readonly transport: StepTransport;
  readonly rotor: E2ERotor;
  readonly secret: { ref: SecretRef; version: string; initial: string };
}

/** The end state with ids and values replaced by roles, so two runs on different secrets compare. */
async function snapshot({ rotor, secret }: CrashWorld): Promise<unknown> {
  const page = await rotor.ledger.listRotations(secret.ref);
  expect(page.items).toHaveLength(1);
  const rotation = (await rotor.ledger.getRotation(page.items[0]!.id))!.value;
  const role = (version: string): string => Object.entries(rotation.versions).find(([, v]) => v === version)?.[0] ?? (version === secret.version ? 'initial' : 'other');
  const versions = await versionsOf(ground.client, secret.ref.name);
  const latest = await ground.client.getSecret(secret.ref.name);
  const pending = await versionsOf(ground.client, pendingSecretName(secret.ref.name));
  return {
    versions: [...versions].map(([id, v]) => `${role(id)}:${v.enabled ? 'enabled' : 'disabled'}`).sort(),
    latest: role(latest.properties.version ?? ''),
    latestHoldsInitial: latest.value === secret.initial,
    pending: [...pending.values()].map((v) => (v.enabled ? 'enabled' : 'disabled')),
    status: rotation.status,
    steps: rotation.steps.map((s) => `${s.step}#${s.attempt}:${s.outcome}`),
    undo: rotation.undo.map((u) => u.action),
    locked: (await rotor.ledger.activeRotation(secret.ref)) !== undefined,
    notifications: [...new Set(rotor.notifier.sent.map((n) => n.type))].sort(),
  };
}

// Each case replays a whole rotation once per write (and twice-crashed runs): the budget bounds
// a hang on a busy machine; it is not a speed check (speed lives in bench/).
const replayBudget = { timeout: 300_000 };

describe('crash after every write, then replay, on the emulators (I4)', replayBudget, () => {
  it.each([
    ['completes', false],
    ['rolls back', true],
  ])('a rotation that %s ends exactly as a clean run does', async (_name, consumerBreaks) => {
    // Act
    const report = await replayEveryCrash<CrashWorld, unknown>({
      createWorld: async (crash) => {
        const transport = memoryTransport();
        const rotor = await createE2ERotor(ground, {
          stepQueue: transport.stepQueue,
          clock: transport.clock,
          settings: { maxStepAttempts: 2 },
          wrapPorts: (ports) => crashingPorts(ports, crash),
        });
        const secret = await managedSecret(consumerBreaks ? 'crash-rb' : 'crash-ok');
        if (consumerBreaks) ground.consumer.accept(secret.ref.name, (value) => value === secret.initial);
        return { transport, rotor, secret };
      },
      run: async ({ transport, rotor, secret }) => {
        await untilNoCrash(() => rotor.engine.startRotation(secret.ref, { kind: 'event', version: secret.version }));
        await transport.deliverAll(handlerFor(rotor), { until: allEnded(rotor, [secret.ref]) });
      },
      snapshot,
    });

    // Assess
    expect(report.writes).toBeGreaterThan(15);
    expect((report.clean as { status: string }).status).toBe(consumerBreaks ? 'RolledBack' : 'Completed');
    for (const replay of report.cases) {
      expectCrashPropagated(replay);
      expect(replay.snapshot, `crash after write ${replay.crashAfter} (${replay.label})`).toEqual(report.clean);
    }
  });
});

describe('transient Key Vault faults', replayBudget, () => {
  // On the in-memory queue (virtual time), so the outcome depends on the engine and the Key
  // Vault store, not on how loaded the machine is; rotation.test.ts runs the protocol through
  // Service Bus.
  it('completes 50 rotations while 20% of vault calls answer 429 (no Retry-After) or 503; the ledger shows the retries', async () => {
    // Prepare
    const count = 50;
    const transport = memoryTransport();
    const rotor = await createE2ERotor(ground, { stepQueue: transport.stepQueue, clock: transport.clock, settings: { maxStepAttempts: 10 } });
    const secrets = await Promise.all(Array.from({ length: count }, () => managedSecret('flaky', { 'rotor-grace': 'PT1S' })));
    ground.kv.admin.resetCounters();
    // The starts first: a start meeting a 429 answers it at once (the API says 503, Retry-After); the steps are under test here.
    const starts = [];
    for (const secret of secrets) starts.push(await rotor.engine.startRotation(secret.ref, { kind: 'manual' }));
    const throttle = ground.kv.admin.faults.inject({ operation: 'any', effect: { kind: 'status', status: 429 }, fraction: 0.1 });
    const unavailable = ground.kv.admin.faults.inject({ operation: 'any', effect: { kind: 'status', status: 503 }, fraction: 0.1 });

    // Act
    try {
      await transport.deliverAll(handlerFor(rotor), { until: allEnded(rotor, secrets.map((s) => s.ref)), timeoutMs: 240_000 });
    } finally {
      ground.kv.admin.faults.remove(throttle.id);
      ground.kv.admin.faults.remove(unavailable.id);
      await transport.stop();
    }

    // Assess
    expect(starts.every((s) => s.outcome === 'started')).toBe(true);
    const rotations = await Promise.all(starts.map(async (s) => (await rotor.ledger.getRotation((s as { rotationId: string }).rotationId))!.value));
    expect(rotations.filter((r) => r.status !== 'Completed').map((r) => `${r.status}: ${r.reason ?? ''}`)).toEqual([]);
    // A 503 is a retry (an attempt); a 429 is a throttled step, scheduled for its notBefore (not an attempt).
    const retried = rotations.flatMap((r) => r.steps.filter((s) => s.outcome === 'retrying'));
    const throttled = rotations.flatMap((r) => r.steps.filter((s) => s.outcome === 'throttled'));
    expect(retried.length).toBeGreaterThan(0);
    expect(throttled.length).toBeGreaterThan(0);
    for (const step of retried) expect(step.error?.code).toBe('VaultUnavailable');
    for (const step of throttled) expect(step.error?.code).toBe('VaultThrottled');
    const counts = Object.values(ground.kv.admin.counters().operations);
    expect(counts.reduce((sum, c) => sum + (c?.throttled ?? 0), 0)).toBeGreaterThan(count / 5);
    for (const secret of secrets.slice(0, 5)) expect((await versionsOf(ground.client, secret.ref.name)).size).toBe(2);
    expect(transport.counters()).toMatchObject({ waiting: 0, deadLettered: 0 });
    expectNoSecretIn([...rotor.logs.map((r) => JSON.stringify(r)), ...(await rotor.ledgerBlobs()), ...transport.bodies()], secrets.map((s) => s.initial));
  });
});
