import type { ServiceBusMessage, ServiceBusSender } from '@azure/service-bus';
import type { StepMessage, StepQueue } from '../rotation/ports.js';
import { systemClock, type Clock } from '../rotation/ports.js';
import { stepMessageId, stepSessionId } from './step-message.js';

export interface ServiceBusStepQueueOptions {
  /** A sender on the session-enabled step queue (Azure Service Bus Data Sender). */
  readonly sender: ServiceBusSender;
  readonly clock?: Clock;
}

/**
 * `StepQueue` over `@azure/service-bus`. Each message: the step as a JSON
 * body (references only), session id = the secret, message id = (rotation,
 * step, attempt) so the queue's duplicate detection (it must be enabled, with
 * a window longer than the longest scheduled wait it should cover) drops
 * re-sends, `subject` = the step for people reading the queue. A step due
 * later is scheduled (`scheduleMessages`), so waiting never blocks a handler.
 */
export function createServiceBusStepQueue(options: ServiceBusStepQueueOptions): StepQueue {
  const clock = options.clock ?? systemClock;
  return {
    async sendStep(step: StepMessage, sendOptions) {
      const message: ServiceBusMessage = {
        body: { rotationId: step.rotationId, secret: step.secret, step: step.step, attempt: step.attempt },
        contentType: 'application/json',
        messageId: stepMessageId(step),
        sessionId: stepSessionId(step.secret),
        subject: step.step,
        applicationProperties: { rotationId: step.rotationId, step: step.step, attempt: step.attempt },
      };
      const notBefore = sendOptions?.notBefore;
      if (notBefore !== undefined && notBefore.getTime() > clock.now().getTime()) {
        await options.sender.scheduleMessages(message, notBefore);
      } else {
        await options.sender.sendMessages(message);
      }
    },
  };
}
