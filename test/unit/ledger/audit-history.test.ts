import { describe, expect, it } from 'vitest';
import { auditTrailOf } from '../../../src/ledger/audit-trail.js';
import { Strategy } from '../../../src/rotation/model.js';
import type { AuditEntry, RotationLedger } from '../../../src/rotation/ports.js';
import { crashingPorts, replayEveryCrash, untilNoCrash, type CrashSwitch } from '../../helpers/crash-replay.js';
import { createFakeProvider, createFakeWorld, FAKE_VAULT, type FakeWorld } from '../../helpers/fakes/index.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';

/**
 * The audit trail is folded into the record: each commit writes the record,
 * which holds every step, and the engine appends the rotation's whole history
 * (derived from the record) once, when it ends, before the lock goes. One
 * ledger request per rotation instead of one per step.
 */

const secret = { vaultUrl: FAKE_VAULT, name: 'audited' };
const tags = { 'rotor-rotator': 'random', 'rotor-grace': 'PT1M' };

/** The ledger's calls in order, as `appendAudit(n)` (entries in the call) and the other names. */
function recording(calls: string[], options: { crashAfterEnd?: boolean } = {}): (ledger: RotationLedger) => RotationLedger {
  let crashed = false;
  return (ledger) => ({
    ...ledger,
    createRotation: (r) => ledger.createRotation(r),
    getRotation: (id) => ledger.getRotation(id),
    acquireLock: (s, id) => ledger.acquireLock(s, id),
    activeRotation: (s) => ledger.activeRotation(s),
    listRotations: (s, o) => ledger.listRotations(s, o),
    updateRotation: async (current, next) => {
      const written = await ledger.updateRotation(current, next);
      calls.push(`updateRotation(${next.status})`);
      // The process dies right after the commit that ended the rotation: nothing after it ran.
      if (options.crashAfterEnd === true && !crashed && next.endedAt !== undefined) {
        crashed = true;
        throw new Error('crash after the end was committed');
      }
      return written;
    },
    appendAudit: async (entries) => {
      await ledger.appendAudit(entries);
      calls.push(`appendAudit(${entries.length})`);
    },
    releaseLock: async (s, id) => {
      await ledger.releaseLock(s, id);
      calls.push('releaseLock');
    },
  });
}

function worldWith(calls: string[], options: { crashAfterEnd?: boolean } = {}): FakeWorld {
  const world = createFakeWorld({ wrapPorts: (ports) => ({ ...ports, ledger: recording(calls, options)(ports.ledger) }) });
  world.store.seed(secret, { value: 'initial-audited-value-0123', tags });
  return world;
}

const events = (entries: readonly AuditEntry[]): string[] => entries.map((e) => e.event);

describe('the audit trail folded into the record', () => {
  it('appends a rotation once, when it ends, with its whole history in time order, before the lock goes', async () => {
    // Prepare
    const calls: string[] = [];
    const world = worldWith(calls);

    // Act
    await world.engine.startRotation(secret, { kind: 'manual', reason: 'quarterly' });
    await world.drain();

    // Assess
    expect(calls.filter((c) => c.startsWith('appendAudit'))).toEqual(['appendAudit(7)']);
    expect(calls.slice(-3)).toEqual(['updateRotation(Completed)', 'appendAudit(7)', 'releaseLock']);
    expect(events(world.ledger.audit)).toEqual([
      'rotation.created',
      'step.begin.succeeded',
      'step.promote.succeeded',
      'step.nudge.succeeded',
      'step.verify.succeeded',
      'step.retire.succeeded',
      'rotation.ended',
    ]);
    const [created, begin, , , , retire, ended] = world.ledger.audit;
    const record = world.ledger.rotations()[0]!;
    expect(created).toMatchObject({ at: record.createdAt, rotationId: record.id, secret, detail: { trigger: 'manual', rotator: 'random', reason: 'quarterly' } });
    expect(begin).toMatchObject({ at: record.steps[0]!.endedAt, detail: { attempt: 1, status: 'Running', next: 'promote' } });
    expect(retire).toMatchObject({ detail: { status: 'Completed', next: 'retire' } });
    expect(ended).toMatchObject({ at: record.endedAt, detail: { status: 'Completed' } });
    const times = world.ledger.audit.map((e) => e.at);
    expect([...times].sort()).toEqual(times);
    expectNoSecretIn(world.ledger.audit.map((e) => JSON.stringify(e)), world.store.allValues());
  });

  it('loses no entry to a crash between the end and the append: the redelivery appends it before releasing the lock', async () => {
    // Prepare
    const calls: string[] = [];
    const world = worldWith(calls, { crashAfterEnd: true });

    // Act
    await world.engine.startRotation(secret, { kind: 'manual' });
    const drained = await world.drain();

    // Assess
    expect(drained.threw).toBe(1);
    expect(calls.slice(-3)).toEqual(['updateRotation(Completed)', 'appendAudit(7)', 'releaseLock']);
    expect(events(world.ledger.audit)).toEqual(events(auditTrailOf(world.ledger.rotations()[0]!)));
    expect(await world.ledger.activeRotation(secret)).toBeUndefined();
  });

  it('records a rollback and the step that failed, with the status each step led to', async () => {
    // Prepare: the consumer breaks once the new value is live.
    const health = 'https://audited.example/health';
    const world = createFakeWorld();
    world.store.seed(secret, { value: 'initial-audited-value-0123', tags: { ...tags, 'rotor-health': health } });
    world.health.setRule(health, () => world.store.versions(secret).length === 1);

    // Act
    await world.engine.startRotation(secret, { kind: 'manual' });
    await world.drain();

    // Assess
    const record = world.ledger.rotations()[0]!;
    expect(record.status).toBe('RolledBack');
    expect(world.ledger.audit).toEqual(auditTrailOf(record));
    const failed = world.ledger.audit.find((e) => e.event.endsWith('.failed'));
    expect(failed?.detail).toMatchObject({ status: 'RollingBack', next: 'rollback' });
    expect(failed?.detail?.['error']).toEqual(expect.any(String));
    expect(world.ledger.audit.at(-2)).toMatchObject({ event: 'step.rollback.succeeded', detail: { status: 'RolledBack' } });
    expect(world.ledger.audit.at(-1)).toMatchObject({ event: 'rotation.ended', detail: { status: 'RolledBack', reason: record.reason } });
  });

  it('records a cancel that ended the rotation before any step ran', async () => {
    // Prepare
    const world = createFakeWorld();
    world.store.seed(secret, { value: 'initial-audited-value-0123', tags });
    const start = await world.engine.startRotation(secret, { kind: 'manual' });
    const id = (start as { rotationId: string }).rotationId;

    // Act
    await world.engine.cancelRotation(id, { reason: 'wrong secret' });
    await world.drain();

    // Assess
    expect(events(world.ledger.audit)).toEqual(['rotation.created', 'cancel.requested', 'rotation.ended']);
    expect(world.ledger.audit[1]?.detail).toEqual({ via: 'undo' });
    expect(world.ledger.audit[2]?.detail).toMatchObject({ status: 'Cancelled' });
    expect(await world.ledger.activeRotation(secret)).toBeUndefined();
  });

  it('appends nothing while a rotation runs: started, it is in the record only', async () => {
    // Prepare
    const calls: string[] = [];
    const world = worldWith(calls);

    // Act
    const start = await world.engine.startRotation(secret, { kind: 'manual' });

    // Assess
    expect(start.outcome).toBe('started');
    expect(world.queue.pending).toHaveLength(1);
    expect(calls.filter((c) => c.startsWith('appendAudit'))).toEqual([]);
    expect(world.ledger.audit).toEqual([]);
  });
});

describe('the audit trail after a crash at every write (I4)', () => {
  const health = 'https://audited.example/health';

  it.each([
    { name: 'random, completed', breaks: false, alternating: false },
    { name: 'random, rolled back', breaks: true, alternating: false },
    { name: 'alternating, rolled back', breaks: true, alternating: true },
  ])('$name: every entry the record shows is in the trail, and nothing else', async ({ breaks, alternating }) => {
    // Prepare
    const initial = 'initial-audited-value-0123';
    const createWorld = (crash: CrashSwitch): FakeWorld => {
      const provider = alternating ? createFakeProvider({ strategy: Strategy.Alternating, initial }) : undefined;
      const world = createFakeWorld({ rotators: provider === undefined ? [] : [provider.rotator], wrapPorts: (ports) => crashingPorts(ports, crash) });
      world.store.seed(secret, {
        value: initial,
        tags: { ...tags, 'rotor-health': health, ...(provider === undefined ? {} : { 'rotor-rotator': provider.rotator.kind, 'rotor-slot': 'key1' }) },
      });
      if (breaks) world.health.setRule(health, () => world.store.versions(secret).at(-1)?.value === initial);
      return world;
    };
    const key = (e: AuditEntry): string => `${e.rotationId} ${e.at} ${e.event} ${JSON.stringify(e.detail)}`;

    // Act
    const report = await replayEveryCrash(
      {
        createWorld,
        run: async (world) => {
          // An event trigger: its rotation id is the same on every retry of a crashed start.
          const version = world.store.versions(secret)[0]!.version;
          await untilNoCrash(() => world.engine.startRotation(secret, { kind: 'event', eventType: 'Microsoft.KeyVault.SecretNearExpiry', version }));
          await world.drain();
        },
        snapshot: (world) => {
          const shown = new Set(world.ledger.rotations().flatMap((r) => auditTrailOf(r).map(key)));
          const trail = new Set(world.ledger.audit.map(key));
          return {
            statuses: world.ledger.rotations().map((r) => r.status),
            missing: [...shown].filter((k) => !trail.has(k)),
            extra: [...trail].filter((k) => !shown.has(k)),
            locks: world.ledger.locks().size,
          };
        },
      },
      { twice: true },
    );

    // Assess
    expect(report.clean).toEqual({ statuses: [breaks ? 'RolledBack' : 'Completed'], missing: [], extra: [], locks: 0 });
    expect(report.cleanWrites).toContain('ledger.appendAudit');
    for (const replay of report.cases) expect(replay.snapshot, `crash after write ${replay.crashAfter} (${replay.label})`).toEqual(report.clean);
  });
});
