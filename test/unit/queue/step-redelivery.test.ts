import { ServiceBusError } from '@azure/service-bus';
import { describe, expect, it } from 'vitest';
import { LedgerError, LedgerErrorCode } from '../../../src/ledger/errors.js';
import {
  defaultRedeliveryPolicy,
  isFirstDelivery,
  isTransientInfrastructureError,
  redeliveriesOf,
  redeliveryBudgetMs,
  redeliveryDelayMs,
  runWithInfrastructureBackoff,
  type StepRedelivery,
} from '../../../src/queue/step-redelivery.js';
import type { StepMessage } from '../../../src/rotation/ports.js';

const step: StepMessage = { rotationId: 'r-1', secret: { vaultUrl: 'https://kv.vault.azure.net', name: 's' }, step: 'prepare', attempt: 2 };

function recordingRedelivery(fail = false): StepRedelivery & { sent: { redelivery: number; notBefore: Date }[] } {
  const sent: { redelivery: number; notBefore: Date }[] = [];
  return {
    sent,
    resend: (_message, redelivery, notBefore) => {
      if (fail) return Promise.reject(new ServiceBusError('queue down', 'ServiceCommunicationProblem'));
      sent.push({ redelivery, notBefore });
      return Promise.resolve();
    },
  };
}

describe('isTransientInfrastructureError', () => {
  it.each([
    ['the ledger unavailable', new LedgerError(LedgerErrorCode.Unavailable, 'read: 503')],
    ['Service Bus unreachable', new ServiceBusError('no connection', 'ServiceCommunicationProblem')],
    ['a lost session lock', new ServiceBusError('lock lost', 'SessionLockLost')],
    ['a lost message lock', new ServiceBusError('lock lost', 'MessageLockLost')],
    ['a refused connection, wrapped', new Error('send failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })],
  ])('is true for %s', (_, error) => {
    expect(isTransientInfrastructureError(error)).toBe(true);
  });

  it.each([
    ['a corrupt ledger record', new LedgerError(LedgerErrorCode.Corrupt, 'does not parse')],
    ['a missing ledger permission', new LedgerError(LedgerErrorCode.Forbidden, '403')],
    ['a bug', new TypeError('undefined is not a function')],
    ['an entity that does not exist', new ServiceBusError('no queue', 'MessagingEntityNotFound')],
    ['nothing', undefined],
  ])('is false for %s (a real crash is still thrown)', (_, error) => {
    expect(isTransientInfrastructureError(error)).toBe(false);
  });
});

describe('redelivery policy', () => {
  it('rides out far more than a 60-second outage by default', () => {
    expect(redeliveryBudgetMs(defaultRedeliveryPolicy)).toBeGreaterThan(10 * 60_000);
    // and the first minute of an outage costs at most 6 redeliveries (1+2+4+8+16+32 s)
    expect(redeliveryBudgetMs({ ...defaultRedeliveryPolicy, maxRedeliveries: 6 })).toBeGreaterThanOrEqual(60_000);
  });

  it.each([
    [1, 1_000],
    [2, 2_000],
    [6, 32_000],
    [7, 60_000],
    [20, 60_000],
  ])('waits about %i → %i ms (±20 %)', (n, expected) => {
    expect(redeliveryDelayMs(n, defaultRedeliveryPolicy, () => 0)).toBe(expected * 0.8);
    expect(redeliveryDelayMs(n, defaultRedeliveryPolicy, () => 1)).toBe(expected * 1.2);
  });

  it('reads the redelivery count from the camel-cased application properties, 0 for an original', () => {
    expect(redeliveriesOf({ applicationProperties: { rotorRedelivery: 3 } })).toBe(3);
    expect(redeliveriesOf({ applicationProperties: { rotationId: 'r' } })).toBe(0);
    expect(redeliveriesOf(undefined)).toBe(0);
  });

  it('calls a delivery first only with deliveryCount 1 and no redelivery count; unknown is not first', () => {
    expect(isFirstDelivery({ deliveryCount: 1, applicationProperties: { rotationId: 'r' } })).toBe(true);
    expect(isFirstDelivery({ deliveryCount: 2, applicationProperties: {} })).toBe(false);
    expect(isFirstDelivery({ deliveryCount: 1, applicationProperties: { rotorRedelivery: 1 } })).toBe(false);
    expect(isFirstDelivery({ applicationProperties: {} })).toBe(false);
    expect(isFirstDelivery({ deliveryCount: '1' })).toBe(false);
    expect(isFirstDelivery(undefined)).toBe(false);
  });
});

describe('runWithInfrastructureBackoff', () => {
  const now = () => new Date('2026-12-04T12:00:00Z');

  it('returns the step result when nothing fails, sending nothing', async () => {
    const redelivery = recordingRedelivery();

    const outcome = await runWithInfrastructureBackoff({ message: step, redeliveries: 0, run: () => Promise.resolve('ok'), redelivery, now });

    expect(outcome).toEqual({ kind: 'done', value: 'ok' });
    expect(redelivery.sent).toEqual([]);
  });

  it('sends the same step again later when the ledger is down, and returns normally', async () => {
    const redelivery = recordingRedelivery();

    const outcome = await runWithInfrastructureBackoff({
      message: step,
      redeliveries: 2,
      run: () => Promise.reject(new LedgerError(LedgerErrorCode.Unavailable, 'update: ECONNREFUSED')),
      redelivery,
      now,
      random: () => 0.5,
    });

    expect(outcome).toMatchObject({ kind: 'redelivered', redelivery: 3, delayMs: 4_000 });
    expect(redelivery.sent).toEqual([{ redelivery: 3, notBefore: new Date('2026-12-04T12:00:04Z') }]);
  });

  it('throws what is not infrastructure, sending nothing', async () => {
    const redelivery = recordingRedelivery();
    const bug = new TypeError('bug');

    await expect(runWithInfrastructureBackoff({ message: step, redeliveries: 0, run: () => Promise.reject(bug), redelivery, now })).rejects.toBe(bug);
    expect(redelivery.sent).toEqual([]);
  });

  it('throws once the redeliveries are spent, so the message dead-letters and the rotation ends', async () => {
    const redelivery = recordingRedelivery();
    const down = new LedgerError(LedgerErrorCode.Unavailable, 'down');

    await expect(
      runWithInfrastructureBackoff({ message: step, redeliveries: defaultRedeliveryPolicy.maxRedeliveries, run: () => Promise.reject(down), redelivery, now }),
    ).rejects.toBe(down);
    expect(redelivery.sent).toEqual([]);
  });

  it('throws the original failure when the queue cannot take the copy either', async () => {
    const down = new LedgerError(LedgerErrorCode.Unavailable, 'down');

    await expect(
      runWithInfrastructureBackoff({ message: step, redeliveries: 0, run: () => Promise.reject(down), redelivery: recordingRedelivery(true), now }),
    ).rejects.toBe(down);
  });
});
