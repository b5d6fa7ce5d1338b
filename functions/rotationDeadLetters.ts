import { app, type InvocationContext, type ServiceBusQueueFunctionOptions } from '@azure/functions';
import { readDeadLetterMetadata } from '../src/queue/dead-letter-metadata.js';
import { isTransientInfrastructureError, redeliveryDelayMs, type RedeliveryPolicy } from '../src/queue/step-redelivery.js';
import { handleDeadLetteredStep } from '../src/recovery/dead-letter.js';
import { entryServicesFor } from '../src/app/compose.js';
import type { EntryServices } from '../src/entry/services.js';

/**
 * Back-off before a failed dead letter goes back to the queue. The dead-letter
 * sub-queue has no max delivery count and no way to schedule, and the Node
 * worker cannot defer: a throw abandons the message and Service Bus hands it
 * over again at once, for ever. So when the ledger or the queue is down, the
 * handler waits before it throws, longer each time the same message fails
 * here (1 s doubling to a minute; the lock is renewed meanwhile), and the loop
 * runs at most once a minute instead of hot.
 */
export const deadLetterBackoff: RedeliveryPolicy = { baseMs: 1_000, maxMs: 60_000, maxRedeliveries: Number.POSITIVE_INFINITY };

export interface DeadLetterHandlerOptions {
  readonly resolveServices: (context: InvocationContext) => Promise<EntryServices>;
  readonly backoff?: RedeliveryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Step messages dead-lettered by Service Bus (`<queue>/$DeadLetterQueue`, not
 * session-enabled): their rotation ends Failed, or rolls back if it promoted,
 * and a notification goes out, with the reason Service Bus recorded. A throw
 * here abandons the message for another try (after the back-off above when
 * the infrastructure is at fault).
 */
export function createRotationDeadLettersHandler(options: DeadLetterHandlerOptions) {
  const backoff = options.backoff ?? deadLetterBackoff;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  /** Failures per message id in this process (bounded): how long the next back-off is. */
  const failures = new Map<string, number>();
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const metadata = readDeadLetterMetadata(context.triggerMetadata);
    const key = metadata.messageId ?? metadata.sessionId ?? '';
    try {
      await handleDeadLetteredStep({ body: message, metadata }, await options.resolveServices(context));
      failures.delete(key);
    } catch (error) {
      if (!isTransientInfrastructureError(error)) throw error;
      const n = (failures.get(key) ?? 0) + 1;
      failures.delete(key);
      failures.set(key, n);
      if (failures.size > 1_000) failures.delete(failures.keys().next().value!);
      const delayMs = redeliveryDelayMs(n, backoff);
      context.warn(`rotationDeadLetters: infrastructure unavailable; retrying this dead letter in ${delayMs} ms (failure ${n})`);
      await sleep(delayMs);
      throw error;
    }
  };
}

export const rotationDeadLettersHandler = createRotationDeadLettersHandler({ resolveServices: entryServicesFor });

export const rotationDeadLettersOptions: ServiceBusQueueFunctionOptions = {
  connection: 'ServiceBusConnection',
  queueName: '%ROTOR_STEP_QUEUE%/$DeadLetterQueue',
  isSessionsEnabled: false,
  handler: rotationDeadLettersHandler,
};

app.serviceBusQueue('rotationDeadLetters', rotationDeadLettersOptions);
