import { describe, expect, it } from 'vitest';
import { isLedgerConflictError } from '../../src/ledger/errors.js';
import type { Rotation } from '../../src/rotation/model.js';
import type { AuditEntry, RotationLedger } from '../../src/rotation/ports.js';
import { FAKE_VAULT } from './fakes/world.js';

/**
 * The ledger's contract (src/rotation/ports.ts `RotationLedger`), one suite
 * that every implementation passes: the in-memory ledger the engine's tests
 * run on (test/unit/ledger/ledger-conformance.test.ts) and the blob ledger on
 * Azurite (test/integration/ledger/blob-ledger.test.ts). A fake that drifts
 * from the real ledger fails here, not in a test that trusted it.
 */
export interface LedgerUnderTest {
  readonly ledger: RotationLedger;
  /** Every audit entry the ledger holds, in the order a reader of the trail meets them (blob by blob). */
  readonly auditEntries: () => Promise<readonly AuditEntry[]>;
}

export function describeLedgerConformance(name: string, freshLedgerUnderTest: () => Promise<LedgerUnderTest>): void {
  const freshLedger = async (): Promise<RotationLedger> => (await freshLedgerUnderTest()).ledger;
  describe(`${name} keeps the ledger contract`, () => {
    it('creates, reads and updates a record under ETag conditions', async () => {
      // Prepare
      const ledger = await freshLedger();
      const created = await ledger.createRotation(testRotation('r1', '2025-06-01T12:00:00.000Z'));

      // Act
      const read = await ledger.getRotation('r1');
      const updated = await ledger.updateRotation(read!, { ...read!.value, status: 'Completed' });
      const stale = await ledger.updateRotation(read!, { ...read!.value, status: 'Failed' }).catch((e: unknown) => e);

      // Assess
      expect(read?.value).toEqual(created.value);
      expect(read?.etag).toBe(created.etag);
      expect(updated.etag).not.toBe(read!.etag);
      expect(isLedgerConflictError(stale)).toBe(true);
      expect((await ledger.getRotation('r1'))?.value.status).toBe('Completed');
      expect(await ledger.getRotation('nope')).toBeUndefined();
    });

    it('refuses a second create of the same id as a conflict', async () => {
      // Prepare
      const ledger = await freshLedger();
      await ledger.createRotation(testRotation('dup', '2025-06-01T12:00:00.000Z'));

      // Act
      const error = await ledger.createRotation(testRotation('dup', '2025-06-01T12:00:00.000Z')).catch((e: unknown) => e);

      // Assess
      expect(isLedgerConflictError(error)).toBe(true);
    });

    it('gives the lock to exactly one of ten concurrent takers, re-entrantly', async () => {
      // Prepare
      const ledger = await freshLedger();
      const secret = { vaultUrl: FAKE_VAULT, name: 'contended' };

      // Act
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => ledger.acquireLock(secret, `r${i}`)));

      // Assess
      const winners = results.flatMap((r, i) => (r.acquired ? [`r${i}`] : []));
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      expect(results.filter((r) => !r.acquired).every((r) => !r.acquired && r.heldBy === winner && r.since !== undefined)).toBe(true);
      expect((await ledger.acquireLock(secret, winner)).acquired).toBe(true);
      expect(await ledger.activeRotation(secret)).toBe(winner);
    });

    it('releases only for the holder, and a release not held is a no-op', async () => {
      // Prepare
      const ledger = await freshLedger();
      const secret = { vaultUrl: FAKE_VAULT, name: 'released' };
      await ledger.acquireLock(secret, 'holder');

      // Act
      await ledger.releaseLock(secret, 'someone-else');
      const stillHeld = await ledger.activeRotation(secret);
      await ledger.releaseLock(secret, 'holder');
      await ledger.releaseLock(secret, 'holder');

      // Assess
      expect(stillHeld).toBe('holder');
      expect(await ledger.activeRotation(secret)).toBeUndefined();
      expect((await ledger.acquireLock(secret, 'next')).acquired).toBe(true);
    });

    it("lists a secret's rotations newest first, page by page, whatever the name's case", async () => {
      // Prepare
      const ledger = await freshLedger();
      for (const [id, at] of [['a', '2025-06-01T10:00:00.000Z'], ['c', '2025-06-03T10:00:00.000Z'], ['b', '2025-06-02T10:00:00.000Z']] as const) {
        await ledger.createRotation(testRotation(id, at));
      }
      await ledger.createRotation(testRotation('other', '2025-06-04T10:00:00.000Z', 'other-secret'));
      const secret = { vaultUrl: FAKE_VAULT, name: 'DB-Password' };

      // Act
      const first = await ledger.listRotations(secret, { limit: 2 });
      const second = await ledger.listRotations(secret, { limit: 2, continuationToken: first.continuationToken! });

      // Assess
      expect(first.items.map((i) => i.id)).toEqual(['c', 'b']);
      expect(first.items[0]).toMatchObject({ status: 'Running', step: 'begin', trigger: { kind: 'manual' }, createdAt: '2025-06-03T10:00:00.000Z' });
      expect(second.items.map((i) => i.id)).toEqual(['a']);
      expect(second.continuationToken).toBeUndefined();
    });

    it("keeps each rotation's history together and in order, every entry with its own time, whatever runs beside it", async () => {
      // Prepare: two histories spanning minutes, appended at once (they may share a block).
      const { ledger, auditEntries } = await freshLedgerUnderTest();
      const history = (id: string, minutes: number): AuditEntry[] =>
        Array.from({ length: 4 }, (_, i) => ({
          at: new Date(Date.parse('2025-06-01T12:00:30.000Z') + i * minutes * 60_000).toISOString(),
          rotationId: id,
          secret: { vaultUrl: FAKE_VAULT, name: `secret-${id}` },
          event: `event.${i}`,
          detail: { attempt: 1 },
        }));
      const a = history('a', 1);
      const b = history('b', 2);

      // Act
      await Promise.all([ledger.appendAudit(a), ledger.appendAudit(b), ledger.appendAudit([])]);

      // Assess
      const entries = await auditEntries();
      expect(entries).toHaveLength(8);
      for (const h of [a, b]) {
        const start = entries.findIndex((e) => e.rotationId === h[0]!.rotationId);
        expect(entries.slice(start, start + h.length)).toEqual(h);
      }
    });
  });
}

export function testRotation(id: string, createdAt: string, name = 'db-password'): Rotation {
  return {
    id,
    secret: { vaultUrl: FAKE_VAULT, name },
    trigger: { kind: 'manual' },
    rotator: 'random',
    strategy: 'single',
    status: 'Running',
    step: 'begin',
    attempt: 1,
    dryRun: false,
    createdAt,
    updatedAt: createdAt,
    deadline: createdAt,
    versions: {},
    steps: [],
    undo: [],
  };
}
