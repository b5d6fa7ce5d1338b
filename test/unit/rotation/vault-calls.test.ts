import { describe, expect, it } from 'vitest';
import { SecretStoreError, SecretStoreErrorCode } from '../../../src/keyvault/errors.js';
import { Strategy } from '../../../src/rotation/model.js';
import { pendingRef } from '../../../src/rotation/pending.js';
import type { SecretStore } from '../../../src/rotation/ports.js';
import type { Rotator } from '../../../src/rotation/rotator.js';
import { createFakeProvider, createFakeWorld, FAKE_VAULT, type FakeProvider, type FakeWorld } from '../../helpers/fakes/index.js';

/**
 * Key Vault calls per rotation (issue #18: c creates, o other calls; one vault
 * allows min(30 / c, 400 / o) rotations per second), counted at the store
 * port along the real engine and steps, start included, on the in-memory
 * fakes. bench/README.md records these per rotator and strategy.
 */

const secret = { vaultUrl: FAKE_VAULT, name: 'orders-key' };
const initial = 'initial-credential-0123456789';
const health = 'https://orders.example/health';

type Kind = 'random' | 'alternating' | 'alternating-pending' | 'single-apply';

interface Counts {
  set: number;
  get: number;
  update: number;
  /** Calls on the pending companion secret, any kind. */
  pending: number;
}

function counting(store: SecretStore, counts: Counts): SecretStore {
  const onPending = (name: string): void => {
    if (name === pendingRef(secret).name) counts.pending += 1;
  };
  return {
    ...store,
    getLatest: (ref) => (counts.get++, onPending(ref.name), store.getLatest(ref)),
    getVersion: (ref, version) => (counts.get++, onPending(ref.name), store.getVersion(ref, version)),
    setSecret: (ref, value) => (counts.set++, onPending(ref.name), store.setSecret(ref, value)),
    setEnabled: (ref, version, enabled) => (counts.update++, onPending(ref.name), store.setEnabled(ref, version, enabled)),
    listVersions: (ref) => store.listVersions(ref),
    listSecrets: (vaultUrl) => store.listSecrets(vaultUrl),
  };
}

interface Built {
  readonly world: FakeWorld;
  readonly provider?: FakeProvider;
  readonly counts: Counts;
}

/**
 * A secret rotated before through a pending value: its companion holds Rotor's earlier (disabled)
 * pending version and the latest version says so (`rotor-pending-companion`), as a promote leaves it.
 */
function seedEarlierPending(world: FakeWorld): Record<string, string> {
  world.store.seed(pendingRef(secret), { value: 'earlier-pending-value-0123', tags: { 'rotor-pending-for': secret.name, 'rotor-rotation': 'earlier-rotation' }, enabled: false });
  return { 'rotor-pending-companion': pendingRef(secret).name };
}

function build(kind: Kind, options: { consumerBreaks?: boolean; failWrite?: boolean; crashAfterPendingWrite?: boolean; firstPending?: boolean } = {}): Built {
  const counts: Counts = { set: 0, get: 0, update: 0, pending: 0 };
  const alternating = kind === 'alternating' || kind === 'alternating-pending';
  const provider = kind === 'random' ? undefined : createFakeProvider({ strategy: alternating ? Strategy.Alternating : Strategy.Single, initial });
  const rotator: Rotator | undefined = provider === undefined ? undefined : kind === 'alternating-pending' ? { ...provider.rotator, restoreNeedsPrepared: true } : provider.rotator;
  const world = createFakeWorld({
    rotators: rotator === undefined ? [] : [rotator],
    wrapPorts: (ports) => {
      const store = counting(ports.secretStore, counts);
      if (options.crashAfterPendingWrite === true) {
        // The host dies once right after the pending write, before the record: Service Bus redelivers (deliveryCount 2).
        let crashed = false;
        const crashing: SecretStore = {
          ...store,
          setSecret: async (ref, value) => {
            const written = await store.setSecret(ref, value);
            if (ref.name === pendingRef(secret).name && !crashed) {
              crashed = true;
              throw new Error('simulated host crash after the pending write');
            }
            return written;
          },
        };
        return { ...ports, secretStore: crashing };
      }
      if (options.failWrite !== true) return { ...ports, secretStore: store };
      // Key Vault refuses the new version for good (403): the mint at the provider has happened, the write never does.
      const refusing: SecretStore = {
        ...store,
        setSecret: (ref, value) =>
          ref.name === secret.name ? Promise.reject(new SecretStoreError(SecretStoreErrorCode.Forbidden, 'set refused')) : store.setSecret(ref, value),
      };
      return { ...ports, secretStore: refusing };
    },
  });
  const pendingKept = kind === 'alternating-pending' || kind === 'single-apply';
  const earlier = pendingKept && options.firstPending !== true ? seedEarlierPending(world) : {};
  world.store.seed(secret, {
    value: initial,
    tags: {
      ...earlier,
      'rotor-rotator': rotator?.kind ?? 'random',
      'rotor-grace': 'PT2M',
      'rotor-health': health,
      ...(alternating ? { 'rotor-slot': 'key1' } : {}),
    },
  });
  if (options.consumerBreaks === true) world.health.setRule(health, () => world.store.versions(secret).at(-1)?.value === initial);
  return { world, counts, ...(provider === undefined ? {} : { provider }) };
}

async function rotate({ world }: Built): Promise<void> {
  const version = world.store.versions(secret)[0]!.version;
  const start = await world.engine.startRotation(secret, { kind: 'event', eventType: 'Microsoft.KeyVault.SecretNearExpiry', version });
  expect(start.outcome).toBe('started');
  await world.drain();
}

describe('Key Vault calls per rotation (issue #18)', () => {
  it.each([
    // kind, steps, c, gets, updates
    ['random', ['begin', 'promote', 'nudge', 'verify', 'retire'], 1, 4, 1],
    ['alternating', ['begin', 'promote', 'nudge', 'verify', 'retire'], 1, 4, 1],
    // With a pending version, on first delivery of a secret rotated so before: no companion read (o = 4 + 2 = 6).
    ['alternating-pending', ['begin', 'promote', 'nudge', 'verify', 'retire'], 2, 4, 2],
    ['single-apply', ['begin', 'promote', 'nudge', 'verify', 'retire'], 2, 4, 2],
  ] as const)('%s: steps %j, %i create(s), %i gets, %i updates', async (kind, steps, creates, gets, updates) => {
    // Prepare
    const built = build(kind);

    // Act
    await rotate(built);

    // Assess
    const rotation = built.world.ledger.rotations()[0]!;
    expect(rotation.status).toBe('Completed');
    expect(rotation.steps.map((s) => s.step)).toEqual(steps);
    expect(built.counts).toMatchObject({ set: creates, get: gets, update: updates });
    // Without a pending version nothing touches the companion secret; with one: the write and the disable at retire.
    expect(built.counts.pending).toBe(creates === 1 ? 0 : 2);
    expect(built.counts.get + built.counts.update).toBeLessThanOrEqual(6);
    expect(built.world.store.versions(secret)).toHaveLength(2);
  });

  it.each(['alternating-pending', 'single-apply'] as const)(
    '%s: a promote redelivered after a crash past the pending write reads the companion and reuses that value (one pending version)',
    async (kind) => {
      // Prepare
      const built = build(kind, { crashAfterPendingWrite: true });

      // Act
      await rotate(built);

      // Assess
      const rotation = built.world.ledger.rotations()[0]!;
      expect(rotation.status).toBe('Completed');
      const pendingVersions = built.world.store.versions(pendingRef(secret)).filter((v) => v.tags['rotor-rotation'] === rotation.id);
      expect(pendingVersions).toHaveLength(1);
      expect(rotation.versions.pending).toBe(pendingVersions[0]!.version);
      expect(built.world.store.versions(secret).at(-1)!.value).toBe(pendingVersions[0]!.value);
      expect(built.provider!.calls.prepare).toBe(1);
      // The companion: the write, the replay check on the redelivery, the disable at retire.
      expect(built.counts.pending).toBe(3);
    },
  );

  it.each(['alternating-pending', 'single-apply'] as const)(
    '%s: the first pending rotation of a secret reads the companion (name check, o = 7) and marks the new version, so the next one costs 6',
    async (kind) => {
      // Prepare
      const built = build(kind, { firstPending: true });

      // Act
      await rotate(built);
      const first = { ...built.counts };
      const promoted = built.world.store.versions(secret).at(-1)!;
      const next = await built.world.engine.startRotation(secret, { kind: 'manual' });
      expect(next.outcome).toBe('started');
      await built.world.drain();

      // Assess
      expect(first.get + first.update).toBe(7);
      expect(promoted.tags['rotor-pending-companion']).toBe(pendingRef(secret).name);
      expect(built.counts.get + built.counts.update - first.get - first.update).toBe(6);
      expect(built.world.ledger.rotations().map((r) => r.status)).toEqual(['Completed', 'Completed']);
    },
  );

  it('single-apply: a name that is not Rotor\'s companion still fails promote with PendingNameCollision on first delivery, the secret unchanged', async () => {
    // Prepare: someone else's secret under the companion's name, and a latest version without the mark.
    const built = build('single-apply', { firstPending: true });
    built.world.store.seed(pendingRef(secret), { value: 'someone-elses-value-0123', tags: { owner: 'payments' } });

    // Act
    await rotate(built);

    // Assess
    const rotation = built.world.ledger.rotations()[0]!;
    expect(rotation.steps.find((s) => s.step === 'promote')?.error?.code).toBe('PendingNameCollision');
    expect(built.world.store.versions(pendingRef(secret))).toHaveLength(1);
    expect(built.world.store.versions(secret).filter((v) => v.enabled).map((v) => v.value)).toEqual([initial]);
  });

  it('alternating without a pending version: the minted slot is recorded on the new version and the rotation, and the old slot stays valid until retire', async () => {
    // Prepare
    const built = build('alternating');

    // Act
    await rotate(built);

    // Assess
    const rotation = built.world.ledger.rotations()[0]!;
    const [old, fresh] = built.world.store.versions(secret);
    expect(fresh!.tags['rotor-slot']).toBe('key2');
    expect(rotation.slots).toEqual({ previous: 'key1', next: 'key2' });
    expect(rotation.prepared?.refs).toEqual({ keyName: 'key2' });
    expect(rotation.versions.pending).toBeUndefined();
    expect(built.world.store.versions(pendingRef(secret))).toHaveLength(0);
    expect(old!.enabled).toBe(false);
    expect(built.provider!.accepts(fresh!.value)).toBe(true);
    expect(built.provider!.accepts(initial)).toBe(true); // alternating: the old key dies only at the next rotation or revoke
  });

  it('alternating rollback without a pending version: consumers get the previous value back first, then the rotator undoes the mint with the value read back from the promoted version, then that version is disabled', async () => {
    // Prepare
    const built = build('alternating', { consumerBreaks: true });

    // Act
    await rotate(built);

    // Assess
    const rotation = built.world.ledger.rotations()[0]!;
    expect(rotation.status).toBe('RolledBack');
    const [, promoted, restored] = built.world.store.versions(secret);
    expect(promoted!.enabled).toBe(false);
    expect(restored).toMatchObject({ enabled: true, value: initial });
    expect(restored!.tags['rotor-slot']).toBe('key1');
    expect(built.provider!.calls.restore).toBe(1);
    expect(built.provider!.accepts(promoted!.value)).toBe(false); // the mint is undone at the provider
    expect(built.provider!.accepts(initial)).toBe(true);
  });

  it('alternating: a promote whose write Key Vault refuses for good rolls back; with nothing written the mint is left on the slot no one uses, and the secret keeps its value', async () => {
    // Prepare
    const built = build('alternating', { failWrite: true });

    // Act
    await rotate(built);

    // Assess
    const rotation = built.world.ledger.rotations()[0]!;
    expect(rotation.status).toBe('RolledBack');
    expect(rotation.steps.map((s) => `${s.step}:${s.outcome}`)).toEqual(['begin:succeeded', 'promote:failed', 'rollback:succeeded']);
    expect(built.world.store.versions(secret)).toEqual([expect.objectContaining({ enabled: true, value: initial })]);
    expect(built.provider!.calls.restore).toBe(0);
    expect(built.provider!.accepts(initial)).toBe(true);
  });
});
