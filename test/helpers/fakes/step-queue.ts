import type { StepMessage, StepQueue } from '../../../src/rotation/ports.js';
import { stepMessageId, stepSessionId } from '../../../src/queue/step-message.js';

export interface QueuedStep {
  readonly messageId: string;
  readonly sessionId: string;
  readonly body: StepMessage;
  /** When the message becomes receivable (ms since epoch). */
  readonly dueAt: number;
  readonly sequence: number;
  deliveryCount: number;
}

export interface FakeStepQueue extends StepQueue {
  /** Messages not yet completed or dead-lettered, in sequence order. */
  readonly pending: QueuedStep[];
  readonly deadLettered: QueuedStep[];
  /** Every body accepted (duplicates dropped), as JSON: for leak scans and assertions. */
  readonly sentBodies: string[];
  /** Sends dropped by duplicate detection. */
  readonly duplicatesDropped: number;
  /** The message due first at or before `nowMs` (sessions in order: a session's earliest message first). */
  nextDue(nowMs: number): QueuedStep | undefined;
  /** Earliest time any pending message becomes due. */
  nextDueAt(): number | undefined;
  complete(message: QueuedStep): void;
  /** Abandon: redelivered at once; dead-lettered after `maxDeliveries`. */
  abandon(message: QueuedStep, maxDeliveries: number): void;
}

/**
 * Service Bus as the engine sees it: session id and message id derived the
 * way the real adapter derives them, duplicate detection on message id (over
 * the whole test, a window longer than any test), scheduled messages.
 */
export function createFakeStepQueue(options: { now: () => Date }): FakeStepQueue {
  const pending: QueuedStep[] = [];
  const deadLettered: QueuedStep[] = [];
  const sentBodies: string[] = [];
  const seen = new Set<string>();
  let sequence = 0;
  let duplicatesDropped = 0;

  return {
    pending,
    deadLettered,
    sentBodies,
    get duplicatesDropped() {
      return duplicatesDropped;
    },
    sendStep(message, sendOptions) {
      const messageId = stepMessageId(message);
      if (seen.has(messageId)) {
        duplicatesDropped += 1;
        return Promise.resolve();
      }
      seen.add(messageId);
      sequence += 1;
      sentBodies.push(JSON.stringify(message));
      pending.push({
        messageId,
        sessionId: stepSessionId(message.secret),
        body: structuredClone(message),
        dueAt: sendOptions?.notBefore?.getTime() ?? options.now().getTime(),
        sequence,
        deliveryCount: 0,
      });
      return Promise.resolve();
    },
    nextDue(nowMs) {
      return [...pending].filter((m) => m.dueAt <= nowMs).sort((a, b) => a.dueAt - b.dueAt || a.sequence - b.sequence)[0];
    },
    nextDueAt() {
      return pending.length === 0 ? undefined : Math.min(...pending.map((m) => m.dueAt));
    },
    complete(message) {
      pending.splice(pending.indexOf(message), 1);
    },
    abandon(message, maxDeliveries) {
      message.deliveryCount += 1;
      if (message.deliveryCount >= maxDeliveries) {
        pending.splice(pending.indexOf(message), 1);
        deadLettered.push(message);
      }
    },
  };
}
