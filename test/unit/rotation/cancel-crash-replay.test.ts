import { describe, expect, it } from 'vitest';
import { Strategy, type StepName } from '../../../src/rotation/model.js';
import { createFakeProvider, createFakeWorld, FAKE_VAULT, type FakeProvider, type FakeWorld } from '../../helpers/fakes/index.js';
import { crashingPorts, describeEndState, replayEveryCrash, untilNoCrash } from '../../helpers/crash-replay.js';

/**
 * Cancel under the crash-replay harness (I4): the operator's cancel arrives
 * when the rotation is about to run `at`; a crash after any write (the cancel's
 * own included, retried by the caller as an HTTP client would) ends where a
 * clean run ends.
 */

const secret = { vaultUrl: FAKE_VAULT, name: 'billing-db' };
const initial = 'initial-credential-0123456789';

interface World {
  readonly world: FakeWorld;
  readonly provider: FakeProvider;
}

function build(wrap?: Parameters<typeof createFakeWorld>[0] extends infer O ? (O extends { wrapPorts?: infer W } ? W : never) : never): World {
  const provider = createFakeProvider({ strategy: Strategy.Single, initial });
  const world = createFakeWorld({ rotators: [provider.rotator], ...(wrap === undefined ? {} : { wrapPorts: wrap }) });
  world.store.seed(secret, { value: initial, tags: { 'rotor-rotator': provider.rotator.kind, 'rotor-grace': 'PT2M' } });
  return { world, provider };
}

function runCancellingAt(at: StepName) {
  return async ({ world }: World): Promise<void> => {
    // An event's rotation id is derived from the version, so a start retried after a crash finds its own rotation.
    const version = world.store.versions(secret)[0]!.version;
    const started = await untilNoCrash(() => world.engine.startRotation(secret, { kind: 'event', eventType: 'Microsoft.KeyVault.SecretNearExpiry', version }));
    const rotationId = started.outcome === 'started' || started.outcome === 'duplicate' ? started.rotationId : '';
    let cancelled = false;
    const cancelIfAt = async (): Promise<void> => {
      const record = world.ledger.rotations().find((r) => r.id === rotationId);
      if (cancelled || record?.step !== at) return;
      cancelled = true;
      await untilNoCrash(() => world.engine.cancelRotation(rotationId, { reason: 'wrong secret' }));
    };
    await cancelIfAt();
    await world.drain({ afterDelivery: cancelIfAt });
  };
}

function snapshot({ world, provider }: World): unknown {
  const latest = world.store.versions(secret).at(-1)!;
  return { ...(describeEndState(world, secret, initial) as object), provider: { acceptsInitial: provider.accepts(initial), acceptsLatest: provider.accepts(latest.value) } };
}

describe('cancel, crash after every write, then replay (I4)', () => {
  it.each<[StepName, string]>([
    ['begin', 'Cancelled'],
    ['promote', 'Cancelled'],
    ['verify', 'RolledBack'],
    ['retire', 'Completed'],
  ])('cancelled at %s: ends %s, as a clean run does', async (at, status) => {
    // Act
    const report = await replayEveryCrash({ createWorld: (crash) => build((ports) => crashingPorts(ports, crash)), run: runCancellingAt(at), snapshot });

    // Assess
    const clean = report.clean as { rotations: { status: string }[]; provider: { acceptsInitial: boolean } };
    expect(clean.rotations.map((r) => r.status)).toEqual([status]);
    // Whatever the cancel undid, the provider accepts the value the vault serves.
    expect(clean.provider.acceptsInitial).toBe(status !== 'Completed');
    for (const replay of report.cases) {
      expect(replay.snapshot, `crash after write ${replay.crashAfter} (${replay.label})`).toEqual(report.clean);
    }
  });
});
