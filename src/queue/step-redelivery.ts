import { isServiceBusError, type ServiceBusMessage, type ServiceBusSender } from '@azure/service-bus';
import { isLedgerError, LedgerErrorCode } from '../ledger/errors.js';
import type { StepMessage } from '../rotation/ports.js';
import { stepMessageId, stepSessionId } from './step-message.js';

/**
 * Infrastructure trouble under a step (the ledger or the queue unreachable, a
 * lost lock) is not the step's fault and must not cost the rotation. Thrown
 * out of the trigger it would: the host abandons, Service Bus redelivers at
 * once, and after MaxDeliveryCount — seconds — the message is dead-lettered
 * and the rotation ends. Instead the handler sends the *same step* again as a
 * scheduled message, with exponential backoff, and returns normally so the
 * host completes the delivery it holds.
 *
 * Commit point and crash replay: the copy is sent before the original is
 * completed. A crash in between leaves both, and the step runs twice, which
 * every step already tolerates (I4: a delivery the rotation is past is
 * ignored). The copy's message id is the step's id plus the redelivery number,
 * so duplicate detection keeps it (the original id is already known to the
 * queue) but drops a second send of the same copy.
 *
 * Only what really is a crash is still thrown: a bug, a corrupt record, a
 * missing permission, an exhausted backoff, or a queue that cannot even take
 * the copy (then the lock runs out and Service Bus redelivers after the lock
 * duration, a minute: not hot either).
 */

/** Application property that counts the redeliveries of one step message (lower-case: the Node worker camel-cases metadata keys). */
export const redeliveryProperty = 'rotorRedelivery';

export interface RedeliveryPolicy {
  /** First delay. */
  readonly baseMs: number;
  /** Largest delay. */
  readonly maxMs: number;
  /** Redeliveries before the failure is thrown after all (and the message dead-letters). */
  readonly maxRedeliveries: number;
}

/**
 * 1 s doubling to a minute, twenty times: about fifteen minutes of outage
 * ridden out (the sum of the delays), far past the 60-second storage blip the
 * design must survive, and still well inside the step queue's one-day
 * duplicate-detection window.
 */
export const defaultRedeliveryPolicy: RedeliveryPolicy = { baseMs: 1_000, maxMs: 60_000, maxRedeliveries: 20 };

/** Delay before redelivery `n` (1-based): exponential, capped, with ±20 % jitter so a fleet does not retry in step. */
export function redeliveryDelayMs(n: number, policy: RedeliveryPolicy, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, n - 1));
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

/** Sum of the delays the policy allows without jitter: how long an outage it rides out. */
export function redeliveryBudgetMs(policy: RedeliveryPolicy): number {
  let total = 0;
  for (let n = 1; n <= policy.maxRedeliveries; n += 1) total += Math.min(policy.maxMs, policy.baseMs * 2 ** (n - 1));
  return total;
}

const transientServiceBusCodes = new Set(['ServiceCommunicationProblem', 'ServiceBusy', 'ServiceTimeout', 'MessageLockLost', 'SessionLockLost', 'GeneralError']);
const transientNetworkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'REQUEST_SEND_ERROR', 'UND_ERR_SOCKET']);

/**
 * True for a failure of the infrastructure under a step: the ledger
 * `Unavailable` (5xx, 429, timeout, no connection), a Service Bus error with
 * a transient code or a lost lock, or a network error. Follows `cause`.
 */
export function isTransientInfrastructureError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 8; depth += 1) {
    if (isLedgerError(e)) return e.code === LedgerErrorCode.Unavailable;
    if (isServiceBusError(e)) return transientServiceBusCodes.has(e.code);
    if (typeof e === 'object') {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && transientNetworkCodes.has(code)) return true;
      if ((e as { name?: unknown }).name === 'AbortError' || (e as { name?: unknown }).name === 'TimeoutError') return true;
    }
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}

/** Redeliveries a delivered step message has had already, from its trigger metadata (0 for an original). */
export function redeliveriesOf(triggerMetadata: unknown): number {
  if (typeof triggerMetadata !== 'object' || triggerMetadata === null) return 0;
  const properties = (triggerMetadata as { applicationProperties?: unknown }).applicationProperties;
  if (typeof properties !== 'object' || properties === null) return 0;
  const value = (properties as Record<string, unknown>)[redeliveryProperty];
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/**
 * Whether a delivered step message is provably its first delivery: the trigger's `deliveryCount`
 * is 1 (the Service Bus extension counts from 1, as the local host does) and it is no scheduled
 * copy sent after ledger trouble. No `deliveryCount` (unknown) is false: the step then reads what
 * an earlier delivery may have written.
 */
export function isFirstDelivery(triggerMetadata: unknown): boolean {
  if (typeof triggerMetadata !== 'object' || triggerMetadata === null) return false;
  return (triggerMetadata as { deliveryCount?: unknown }).deliveryCount === 1 && redeliveriesOf(triggerMetadata) === 0;
}

export interface StepRedelivery {
  /** How often and how long; `defaultRedeliveryPolicy` unless the composition says otherwise. */
  readonly policy?: RedeliveryPolicy;
  /** Sends `message` again as copy number `redelivery`, scheduled for `notBefore`. */
  resend(message: StepMessage, redelivery: number, notBefore: Date): Promise<void>;
}

/** Redelivery over the step queue's sender: the same body, session and subject as `createServiceBusStepQueue`. */
export function createStepRedelivery(sender: ServiceBusSender, policy: RedeliveryPolicy = defaultRedeliveryPolicy): StepRedelivery {
  return {
    policy,
    async resend(step, redelivery, notBefore) {
      const message: ServiceBusMessage = {
        body: { rotationId: step.rotationId, secret: step.secret, step: step.step, attempt: step.attempt },
        contentType: 'application/json',
        messageId: `${stepMessageId(step)}:redelivery:${redelivery}`,
        sessionId: stepSessionId(step.secret),
        subject: step.step,
        applicationProperties: { rotationId: step.rotationId, step: step.step, attempt: step.attempt, [redeliveryProperty]: redelivery },
      };
      await sender.scheduleMessages(message, notBefore);
    },
  };
}

export type BackoffOutcome<T> =
  | { readonly kind: 'done'; readonly value: T }
  | { readonly kind: 'redelivered'; readonly redelivery: number; readonly delayMs: number; readonly error: unknown };

export interface BackoffOptions<T, M = StepMessage> {
  /** What is sent again: a step, or an event waiting for its rotation to start (src/events/start-message.ts). */
  readonly message: M;
  /** Redeliveries this delivery has had (`redeliveriesOf(context.triggerMetadata)`). */
  readonly redeliveries: number;
  readonly run: () => Promise<T>;
  readonly redelivery: { readonly policy?: RedeliveryPolicy; resend(message: M, redelivery: number, notBefore: Date): Promise<void> };
  readonly policy?: RedeliveryPolicy;
  readonly now?: () => Date;
  readonly random?: () => number;
}

/**
 * Runs a step; a transient infrastructure failure becomes a scheduled copy of
 * the step (returned as `redelivered`), anything else is thrown as it was.
 */
export async function runWithInfrastructureBackoff<T, M = StepMessage>(options: BackoffOptions<T, M>): Promise<BackoffOutcome<T>> {
  try {
    return { kind: 'done', value: await options.run() };
  } catch (error) {
    const policy = options.policy ?? options.redelivery.policy ?? defaultRedeliveryPolicy;
    const redelivery = options.redeliveries + 1;
    if (!isTransientInfrastructureError(error) || redelivery > policy.maxRedeliveries) throw error;
    const delayMs = redeliveryDelayMs(redelivery, policy, options.random);
    const now = (options.now ?? (() => new Date()))();
    try {
      await options.redelivery.resend(options.message, redelivery, new Date(now.getTime() + delayMs));
    } catch {
      // The queue cannot take the copy either: throw the original failure; the
      // delivery's lock runs out and Service Bus redelivers it, a minute later.
      throw error;
    }
    return { kind: 'redelivered', redelivery, delayMs, error };
  }
}
