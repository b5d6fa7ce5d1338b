import { describe, expect, it } from 'vitest';
import { deadLetterReasonOf, handleDeadLetteredStep } from '../../../src/recovery/dead-letter.js';
import { createFakeWaysIn, seedRotation, TEST_VAULT } from '../../helpers/ways-in-fakes.js';

const secret = { vaultUrl: TEST_VAULT, name: 'db-password' };
const dlq = {
  sessionId: 'sample-kv.vault.azure.net/db-password',
  deliveryCount: 10,
  applicationProperties: { DeadLetterReason: 'MaxDeliveryCountExceeded', DeadLetterErrorDescription: 'Message could not be consumed after 10 delivery attempts.' },
};

describe('handleDeadLetteredStep', () => {
  it('fails a rotation that had not promoted, releases the lock and notifies with the reason', async () => {
    // Prepare
    const { services, ledger, notifier } = createFakeWaysIn();
    await seedRotation(ledger, { id: 'r-1', secret, step: 'prepare' });

    // Act
    const result = await handleDeadLetteredStep({ body: { rotationId: 'r-1', secret, step: 'prepare', attempt: 3 }, metadata: dlq }, services);

    // Assess
    expect(result.outcome).toBe('failed');
    const stored = ledger.rotations.get('r-1')?.value;
    expect(stored).toMatchObject({ status: 'Failed', reason: 'dead-lettered: MaxDeliveryCountExceeded: Message could not be consumed after 10 delivery attempts.' });
    expect(stored?.endedAt).toBeDefined();
    expect(ledger.locks.size).toBe(0);
    expect(notifier.sent).toEqual([expect.objectContaining({ type: 'Rotor.Rotation.Failed', rotationId: 'r-1', reason: stored?.reason, durationMs: 3_600_000 })]);
  });

  it('hands a promoted rotation to rollback instead of failing it', async () => {
    const { services, ledger, queue, notifier } = createFakeWaysIn();
    await seedRotation(ledger, { id: 'r-2', secret, step: 'verify', versions: { previous: 'v1', promoted: 'v2' }, steps: [{ step: 'rollback', attempt: 1, startedAt: 'x', endedAt: 'x', outcome: 'retrying' }] });

    const result = await handleDeadLetteredStep({ body: { rotationId: 'r-2', secret, step: 'verify', attempt: 1 }, metadata: dlq }, services);

    expect(result.outcome).toBe('rolling-back');
    expect(ledger.rotations.get('r-2')?.value).toMatchObject({ status: 'RollingBack', step: 'rollback' });
    expect(queue.sent.map((s) => s.message)).toEqual([{ rotationId: 'r-2', secret, step: 'rollback', attempt: 2 }]);
    expect(ledger.locks.size).toBe(1);
    expect(notifier.sent).toEqual([]);
  });

  it('fails a rotation whose rollback itself was dead-lettered', async () => {
    const { services, ledger } = createFakeWaysIn();
    await seedRotation(ledger, { id: 'r-3', secret, status: 'RollingBack', step: 'rollback', versions: { previous: 'v1', promoted: 'v2' } });

    const result = await handleDeadLetteredStep({ body: { rotationId: 'r-3', secret, step: 'rollback', attempt: 1 }, metadata: dlq }, services);

    expect(result.outcome).toBe('failed');
    expect(ledger.rotations.get('r-3')?.value.reason).toMatch(/^rollback could not complete: dead-lettered/);
  });

  it('finds the rotation of an unreadable body through the session and the lock', async () => {
    const { services, ledger } = createFakeWaysIn();
    await seedRotation(ledger, { id: 'r-4', secret });

    const result = await handleDeadLetteredStep({ body: 'garbage{', metadata: { ...dlq, deadLetterReason: 'BadStepMessage' } }, services);

    expect(result).toMatchObject({ outcome: 'failed', rotationId: 'r-4' });
  });

  it.each([
    ['a rotation already ended', 'Completed', 'already-ended'],
  ])('leaves %s alone', async (_case, status, outcome) => {
    const { services, ledger, notifier } = createFakeWaysIn();
    await seedRotation(ledger, { id: 'r-5', secret, status: status as 'Completed' });

    const result = await handleDeadLetteredStep({ body: { rotationId: 'r-5', secret, step: 'retire', attempt: 1 }, metadata: dlq }, services);

    expect(result.outcome).toBe(outcome);
    expect(notifier.sent).toEqual([]);
  });

  it('logs a message that names no rotation at all', async () => {
    const { services, sink } = createFakeWaysIn();

    const result = await handleDeadLetteredStep({ body: 12, metadata: undefined }, services);

    expect(result).toEqual({ outcome: 'unattributable', reason: 'dead-lettered: unknown reason' });
    expect(sink.records.at(-1)).toMatchObject({ level: 'error' });
  });

  it('retries the ledger write when it loses an ETag race', async () => {
    const { services, ledger } = createFakeWaysIn();
    await seedRotation(ledger, { id: 'r-6', secret });
    let raced = false;
    const racing = {
      ...services,
      ledger: {
        ...ledger,
        updateRotation: async (current: Parameters<typeof ledger.updateRotation>[0], next: Parameters<typeof ledger.updateRotation>[1]) => {
          if (!raced) {
            raced = true;
            await ledger.updateRotation(current, { ...current.value, updatedAt: 'concurrent' });
          }
          return ledger.updateRotation(current, next);
        },
      },
    };

    const result = await handleDeadLetteredStep({ body: { rotationId: 'r-6', secret, step: 'prepare', attempt: 1 }, metadata: dlq }, racing);

    expect(result.outcome).toBe('failed');
    expect(ledger.rotations.get('r-6')?.value.status).toBe('Failed');
  });

  it.each([
    [{ deadLetterReason: 'X', deadLetterErrorDescription: 'Y' }, 'dead-lettered: X: Y'],
    [{ applicationProperties: { DeadLetterReason: 'Only' } }, 'dead-lettered: Only'],
    ['not an object', 'dead-lettered: unknown reason'],
  ])('words the reason from %j', (metadata, reason) => {
    expect(deadLetterReasonOf(metadata)).toBe(reason);
  });
});
