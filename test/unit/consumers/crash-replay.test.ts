import { describe, expect, it } from 'vitest';
import type { AdoptionReport, ConsumerGateway, NudgeContext } from '../../../src/consumers/adapter.js';
import type { ConsumerEntry } from '../../../src/consumers/entries.js';
import { ConsumerError, ConsumerErrorCode } from '../../../src/consumers/errors.js';
import type { RotationEngineDeps } from '../../../src/rotation/engine.js';
import { crashingPorts, describeEndState, replayEveryCrash, untilNoCrash, type CrashSwitch } from '../../helpers/crash-replay.js';
import { createFakeWorld, FAKE_VAULT, type FakeWorld } from '../../helpers/fakes/index.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';

const secret = { vaultUrl: FAKE_VAULT, name: 'orders-db' };
const initial = 'initial-credential-0123456789';
const health = 'https://orders.example/health';
const adopter = 'https://adopts.example.com/rotor';
const ignorer = 'https://ignores.example.com/rotor';

/**
 * Consumers as fakes that behave as the real ones do: an adopting consumer
 * re-reads the secret's latest version when nudged; an ignoring one keeps the
 * version it read at start-up. A nudge is a write (it changes the consumer),
 * so the crash switch counts it.
 */
function fakeConsumers(world: () => FakeWorld, crash: CrashSwitch | undefined): { consumers: NonNullable<RotationEngineDeps['consumers']>; holds: Map<string, string>; nudges: NudgeContext[] } {
  const holds = new Map<string, string>();
  const nudges: NudgeContext[] = [];
  const latest = (): string => world().store.versions(secret).filter((v) => v.enabled).at(-1)?.version ?? '';
  const gateway: ConsumerGateway = {
    nudge(entry: ConsumerEntry, context) {
      if (entry.kind !== 'https' || entry.url.includes('refuses')) return Promise.reject(new ConsumerError(ConsumerErrorCode.Rejected, 'not in this test'));
      if (!holds.has(entry.url)) holds.set(entry.url, world().store.versions(secret)[0]!.version);
      nudges.push(context);
      if (entry.url === adopter) holds.set(entry.url, latest());
      crash?.afterWrite(`consumer.nudge(${context.purpose})`);
      return Promise.resolve({ detail: 'CloudEvent accepted (202)' });
    },
    readAdoption(entry: ConsumerEntry, context): Promise<AdoptionReport> {
      const url = entry.kind === 'https' ? entry.url : '';
      const version = holds.get(url) ?? world().store.versions(secret)[0]!.version;
      return Promise.resolve(version === context.version ? { state: 'adopted', version, detail: `uses version ${version}` } : { state: 'behind', version, detail: `still uses version ${version}` });
    },
  };
  return { consumers: { gateway, registry: { get: () => Promise.resolve(undefined) } }, holds, nudges };
}

interface World {
  readonly world: FakeWorld;
  readonly holds: Map<string, string>;
  readonly nudges: NudgeContext[];
}

function build(consumer: string, crash?: CrashSwitch): World {
  const holder: { world?: FakeWorld } = {};
  const fake = fakeConsumers(() => holder.world!, crash);
  const world = createFakeWorld({ consumers: fake.consumers, ...(crash === undefined ? {} : { wrapPorts: (ports) => crashingPorts(ports, crash) }) });
  holder.world = world;
  world.store.seed(secret, {
    value: initial,
    tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT1H', 'rotor-health': health, 'rotor-consumers': consumer, 'rotor-adoption-timeout': 'PT2M' },
  });
  return { world, holds: fake.holds, nudges: fake.nudges };
}

async function run({ world }: World): Promise<void> {
  // An event trigger names the version, so a start retried after a crash is the same rotation.
  const version = world.store.versions(secret)[0]!.version;
  await untilNoCrash(() => world.engine.startRotation(secret, { kind: 'event', eventType: 'Microsoft.KeyVault.SecretNearExpiry', version }));
  await world.drain();
}

function snapshot({ world, holds }: World): unknown {
  const versions = world.store.versions(secret).map((v) => v.version);
  const rotation = world.ledger.rotations()[0];
  const state = describeEndState(world, secret, initial) as { rotations: { reason?: string }[] };
  // Reasons name version ids, which differ per run: compared by position instead.
  const rotations = state.rotations.map((r) => ({ ...r, reason: r.reason?.replace(/\b[0-9a-f]{32}\b/g, (id) => `v${versions.indexOf(id)}`) }));
  return {
    ...state,
    rotations,
    consumers: rotation?.adoption?.consumers.map((c) => ({ entry: c.entry, state: c.state, nudged: c.nudgedAt !== undefined, returned: c.returnedAt !== undefined, version: versions.indexOf(c.version ?? '') })),
    holds: [...holds.entries()].map(([url, version]) => [url, versions.indexOf(version)]),
  };
}

describe('consumers: crash after every write, then replay (I4)', () => {
  it.each([
    { consumer: adopter, status: 'Completed' },
    { consumer: ignorer, status: 'RolledBack' },
  ])('a rotation whose consumer is $consumer ends as a clean run does ($status)', async ({ consumer, status }) => {
    // Act
    const report = await replayEveryCrash({ createWorld: (crash) => build(consumer, crash), run, snapshot });

    // Assess
    expect(report.cleanWrites).toContain('consumer.nudge(adopt)');
    expect((report.clean as { rotations: { status: string }[] }).rotations[0]!.status).toBe(status);
    for (const replay of report.cases) {
      expect(replay.fired, `crash after write ${replay.crashAfter}`).toBe(true);
      expect(replay.snapshot, `crash after write ${replay.crashAfter} (${replay.label})`).toEqual(report.clean);
    }
  });
});

describe('adoption before retirement (I8)', () => {
  it.each([adopter, ignorer])('never retires the old version while %s still reports it', async (consumer) => {
    // Prepare
    const built = build(consumer);
    const { world } = built;
    const violations: string[] = [];

    // Act
    await world.engine.startRotation(secret, { kind: 'manual' });
    await world.drain({
      afterDelivery: () => {
        const [old] = world.store.versions(secret);
        const rotation = world.ledger.rotations()[0];
        const stillOld = rotation?.adoption?.consumers.some((c) => c.state !== 'adopted') ?? false;
        if (old?.enabled === false && stillOld) violations.push(`old version disabled at ${rotation?.step ?? '?'} while a consumer had not adopted`);
      },
    });

    // Assess
    expect(violations).toEqual([]);
    const rotation = world.ledger.rotations()[0]!;
    if (consumer === ignorer) {
      expect(rotation.status).toBe('RolledBack');
      expect(rotation.reason).toContain(`consumer did not adopt version ${rotation.versions.promoted} within 120 s: ${ignorer} (still uses version`);
      expect(built.nudges.map((n) => n.purpose)).toEqual(['adopt', 'return']);
      expect(built.nudges[1]?.version).toBe(rotation.versions.restored);
    } else {
      expect(rotation.status).toBe('Completed');
      // verify did not wait the hour of grace: it polled the consumer at once
      const nudge = rotation.steps.find((s) => s.step === 'nudge')!;
      const verify = rotation.steps.find((s) => s.step === 'verify' && s.outcome === 'succeeded')!;
      expect(Date.parse(verify.endedAt) - Date.parse(nudge.endedAt)).toBeLessThan(3_600_000);
    }
    expectNoSecretIn(world.texts(), world.store.allValues());
  });

  it('rolls back naming the setting when a consumer refuses the nudge', async () => {
    const { world } = build('https://refuses.example.com/rotor');

    await world.engine.startRotation(secret, { kind: 'manual' });
    await world.drain();

    const rotation = world.ledger.rotations()[0]!;
    expect(rotation.status).toBe('RolledBack');
    expect(rotation.reason).toContain('ConsumerRejected: nudge: consumer https://refuses.example.com/rotor was not nudged: not in this test');
  });

  it('refuses a bad rotor-consumers tag before starting, naming the tag', async () => {
    const world = createFakeWorld({});
    world.store.seed(secret, { value: initial, tags: { 'rotor-rotator': 'random', 'rotor-consumers': 'ftp://nope', 'rotor-adoption-timeout': 'PT1S' } });

    const result = await world.engine.startRotation(secret, { kind: 'manual' });

    expect(result).toMatchObject({ outcome: 'invalid-policy' });
    expect((result as unknown as { problems: { tag: string }[] }).problems.map((p) => p.tag)).toEqual(['rotor-consumers', 'rotor-adoption-timeout']);
  });
});
