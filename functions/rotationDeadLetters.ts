import { app, type InvocationContext, type ServiceBusQueueFunctionOptions } from '@azure/functions';
import { handleDeadLetteredStep } from '../src/recovery/dead-letter.js';
import { servicesFor } from '../src/ways-in/invocation.js';

/**
 * Step messages dead-lettered by Service Bus (`<queue>/$DeadLetterQueue`, not
 * session-enabled): their rotation ends Failed, or rolls back if it promoted,
 * and a notification goes out. A throw here abandons the message for another try.
 */
export async function rotationDeadLettersHandler(message: unknown, context: InvocationContext): Promise<void> {
  await handleDeadLetteredStep({ body: message, metadata: context.triggerMetadata }, await servicesFor(context));
}

export const rotationDeadLettersOptions: ServiceBusQueueFunctionOptions = {
  connection: 'ServiceBusConnection',
  queueName: '%ROTOR_STEP_QUEUE%/$DeadLetterQueue',
  isSessionsEnabled: false,
  handler: rotationDeadLettersHandler,
};

app.serviceBusQueue('rotationDeadLetters', rotationDeadLettersOptions);
