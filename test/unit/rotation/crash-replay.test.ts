import { describe, expect, it } from 'vitest';
import { Strategy } from '../../../src/rotation/model.js';
import { pendingRef } from '../../../src/rotation/pending.js';
import { createFakeProvider, createFakeWorld, FAKE_VAULT, type FakeProvider, type FakeWorld, type FakeWorldOptions } from '../../helpers/fakes/index.js';
import { bestEffortWrites, crashingPorts, describeEndState, expectCrashPropagated, failDeadLetters, replayEveryCrash, untilNoCrash } from '../../helpers/crash-replay.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';

const secret = { vaultUrl: FAKE_VAULT, name: 'billing-db' };
const initial = 'initial-credential-0123456789';
const health = 'https://billing.example/health';

/** `alternating-pending`: a rotator whose restore needs the prepared credential (the webhook) keeps a pending version, written by promote. */
type Kind = 'random' | 'alternating' | 'alternating-pending' | 'single-apply';
interface Case {
  readonly kind: Kind;
  /** The consumer breaks once a new value is live: the rotation must roll back. */
  readonly consumerBreaks: boolean;
  readonly revokeAfter?: string;
}

interface World {
  readonly world: FakeWorld;
  readonly provider?: FakeProvider;
}

function build(c: Case, wrap?: FakeWorldOptions['wrapPorts']): World {
  const alternating = c.kind === 'alternating' || c.kind === 'alternating-pending';
  const provider = c.kind === 'random' ? undefined : createFakeProvider({ strategy: alternating ? Strategy.Alternating : Strategy.Single, initial });
  const rotator = provider === undefined ? undefined : c.kind === 'alternating-pending' ? { ...provider.rotator, restoreNeedsPrepared: true } : provider.rotator;
  const world = createFakeWorld({ rotators: rotator === undefined ? [] : [rotator], ...(wrap === undefined ? {} : { wrapPorts: wrap }) });
  // A pending-value secret Rotor rotated before (its companion is Rotor's, and the latest says so), so a first
  // delivery of promote skips the companion read: the crashes here must show that a redelivery reads it.
  const pendingKept = c.kind === 'alternating-pending' || c.kind === 'single-apply';
  if (pendingKept) {
    world.store.seed(pendingRef(secret), { value: 'earlier-pending-value-0123', tags: { 'rotor-pending-for': secret.name, 'rotor-rotation': 'earlier-rotation' }, enabled: false });
  }
  const tags: Record<string, string> = {
    ...(pendingKept ? { 'rotor-pending-companion': pendingRef(secret).name } : {}),
    'rotor-rotator': provider?.rotator.kind ?? 'random',
    'rotor-grace': 'PT2M',
    'rotor-health': health,
    ...(alternating ? { 'rotor-slot': 'key1' } : {}),
    ...(c.revokeAfter === undefined ? {} : { 'rotor-revoke-after': c.revokeAfter }),
  };
  world.store.seed(secret, { value: initial, tags });
  if (c.consumerBreaks) world.health.setRule(health, () => world.store.versions(secret).at(-1)?.value === initial);
  return { world, ...(provider === undefined ? {} : { provider }) };
}

async function run({ world }: World): Promise<void> {
  const version = world.store.versions(secret)[0]!.version;
  await untilNoCrash(() => world.engine.startRotation(secret, { kind: 'event', eventType: 'Microsoft.KeyVault.SecretNearExpiry', version }));
  await world.drain();
}

function snapshot({ world, provider }: World): unknown {
  const latest = world.store.versions(secret).at(-1)!;
  return {
    ...(describeEndState(world, secret, initial) as object),
    provider: provider === undefined ? undefined : { acceptsInitial: provider.accepts(initial), acceptsLatest: provider.accepts(latest.value) },
  };
}

const cases: readonly Case[] = [
  { kind: 'random', consumerBreaks: false },
  { kind: 'random', consumerBreaks: true },
  { kind: 'alternating', consumerBreaks: false, revokeAfter: 'PT1H' },
  { kind: 'alternating', consumerBreaks: true },
  { kind: 'alternating-pending', consumerBreaks: false },
  { kind: 'alternating-pending', consumerBreaks: true },
  { kind: 'single-apply', consumerBreaks: false },
  { kind: 'single-apply', consumerBreaks: true },
];

describe('crash after every write, then replay (I4)', () => {
  it.each(cases)('$kind rotation (consumer breaks: $consumerBreaks) ends as a clean run does', async (c) => {
    // Act
    const report = await replayEveryCrash(
      {
        createWorld: (crash) => build(c, (ports) => crashingPorts(ports, crash)),
        run,
        snapshot,
      },
      { twice: true },
    );

    // Assess: every crash point counted got out and was redelivered; only best-effort writes (notify, audit) swallow one.
    expect(report.writes).toBeGreaterThan(10);
    expect(report.swallowed).toContain('notifier.notify');
    for (const label of report.swallowed) expect(bestEffortWrites).toContain(label);
    expect(report.crashes).toBeGreaterThan(report.writes);
    expect(report.cases.filter((r) => r.second !== undefined && r.propagated && r.second.propagated).length).toBeGreaterThan(report.writes / 2);
    expect((report.clean as { rotations: { status: string }[] }).rotations[0]!.status).toBe(c.consumerBreaks ? 'RolledBack' : 'Completed');
    for (const replay of report.cases) {
      expectCrashPropagated(replay);
      expect(replay.snapshot, `crash after write ${replay.crashAfter} (${replay.label})`).toEqual(report.clean);
    }
  });
});

describe('the dead-letter path, crashed after every write (I3, I4)', () => {
  it.each([
    ['promote', 'single-apply'],
    ['verify', 'alternating'],
    ['promote', 'alternating'],
    ['promote', 'alternating-pending'],
    ['retire', 'alternating'],
    ['verify', 'random'],
  ] as const)('a %s step of a %s rotation that is dead-lettered ends as a clean dead-lettered run does', async (poisonStep, kind) => {
    // Prepare: the host cannot run one step at all (it throws before doing anything), so Service Bus dead-letters it.
    const c: Case = { kind, consumerBreaks: false };
    const deadLettering = async ({ world }: World): Promise<void> => {
      const version = world.store.versions(secret)[0]!.version;
      await untilNoCrash(() => world.engine.startRotation(secret, { kind: 'event', version }));
      await world.drain({
        maxDeliveries: 3,
        handle: (body, { deliveryCount }) =>
          (body as { step?: string }).step === poisonStep ? Promise.reject(new Error(`poison: ${poisonStep}`)) : world.engine.handleStep(body as never, { first: deliveryCount === 1 }),
      });
      await failDeadLetters(world);
    };

    // Act
    const report = await replayEveryCrash({ createWorld: (crash) => build(c, (ports) => crashingPorts(ports, crash)), run: deadLettering, snapshot }, { twice: true });

    // Assess
    const clean = report.clean as { rotations: { status: string; reason?: string }[]; locks: unknown[]; deadLettered: number };
    expect(clean.rotations).toHaveLength(1);
    expect(['Failed', 'RolledBack']).toContain(clean.rotations[0]!.status);
    expect(clean.rotations[0]!.reason).toContain('DeadLettered');
    expect(clean).toMatchObject({ locks: [], deadLettered: 0 });
    expect(report.cleanWrites.length).toBeGreaterThan(5);
    for (const replay of report.cases) {
      expectCrashPropagated(replay);
      expect(replay.snapshot, `crash after write ${replay.crashAfter} (${replay.label})${replay.second === undefined ? '' : ` and ${replay.second.crashAfter}`}`).toEqual(report.clean);
    }
  });
});

describe('continuity at every step boundary (I1)', () => {
  it.each(cases)('$kind rotation (consumer breaks: $consumerBreaks): the latest enabled version always works at the provider', async (c) => {
    // Prepare
    const built = build(c);
    const { world, provider } = built;
    const violations: string[] = [];
    const check = (): void => {
      if (provider === undefined) return;
      const rotation = world.ledger.rotations()[0];
      // No exemption for single: promote applies and writes in one step, so no step boundary falls between the two.
      const latest = world.store.versions(secret).filter((v) => v.enabled).at(-1);
      if (latest === undefined || !provider.accepts(latest.value)) violations.push(`after ${rotation?.step ?? '?'}: latest enabled version rejected`);
    };

    // Act
    const version = world.store.versions(secret)[0]!.version;
    await world.engine.startRotation(secret, { kind: 'event', version });
    await world.drain({ afterDelivery: check });

    // Assess
    expect(violations).toEqual([]);
    expect(world.ledger.rotations()[0]!.status).toBe(c.consumerBreaks ? 'RolledBack' : 'Completed');
    expectNoSecretIn(world.texts(), [...world.store.allValues(), ...(provider?.issuedValues() ?? [])]);
  });

  it('revokes the superseded credential after revoke-after, keeping the lock until then', async () => {
    // Prepare
    const { world, provider } = build({ kind: 'alternating', consumerBreaks: false, revokeAfter: 'PT1H' });
    await world.engine.startRotation(secret, { kind: 'manual' });

    // Act
    await world.drain({ afterDelivery: ({ message }) => void (message.body.step === 'retire' ? expect(world.ledger.locks().size).toBe(1) : undefined) });

    // Assess
    const rotation = world.ledger.rotations()[0]!;
    expect(rotation.steps.map((s) => s.step)).toEqual(['begin', 'promote', 'nudge', 'verify', 'retire', 'revoke']);
    expect(rotation.status).toBe('Completed');
    expect(provider!.accepts(initial)).toBe(false);
    expect(provider!.calls.revoke).toBe(1);
    const [old, fresh] = world.store.versions(secret);
    expect(old!.enabled).toBe(false);
    expect(fresh!.tags['rotor-slot']).toBe('key2');
    const revoke = rotation.steps.at(-1)!;
    const retire = rotation.steps.at(-2)!;
    expect(Date.parse(revoke.startedAt) - Date.parse(retire.endedAt)).toBe(3_600_000);
    expect(world.ledger.locks().size).toBe(0);
  });
});
