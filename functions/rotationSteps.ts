import { app, type InvocationContext, type ServiceBusQueueFunctionOptions } from '@azure/functions';
import { getRotor } from '../src/app/compose.js';
import { StepMessageError } from '../src/queue/errors.js';
import { parseStepMessage } from '../src/queue/step-message.js';
import type { RotationEngine } from '../src/rotation/engine.js';

/**
 * The step handler: one rotation step per message, on the session-enabled
 * step queue (one session per secret, so a secret's steps never run at once).
 * Thin on purpose: parse, run the step, return. A body that does not parse is
 * thrown (after a log line that names the problem, not the body), so Service
 * Bus dead-letters it after its max deliveries; a step that hits ledger or
 * queue trouble throws too and is redelivered. Everything else — retries,
 * waits, rollback — is the engine's, as scheduled messages.
 */
export function createRotationStepsHandler(resolveEngine: () => Promise<Pick<RotationEngine, 'handleStep'>>) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const parsed = parseStepMessage(message);
    if (!parsed.ok) {
      context.error(`rotationSteps: dropping an unparseable message to the dead-letter queue: ${parsed.problem}`);
      throw new StepMessageError(parsed.problem);
    }
    const engine = await resolveEngine();
    const handled = await engine.handleStep(parsed.message);
    context.log(`rotationSteps: ${parsed.message.step} #${parsed.message.attempt} of ${parsed.message.rotationId}: ${handled.result}`);
  };
}

export const rotationStepsHandler = createRotationStepsHandler(async () => (await getRotor()).engine);

export const rotationStepsOptions = {
  connection: 'ServiceBusConnection',
  queueName: '%ROTOR_STEP_QUEUE%',
  isSessionsEnabled: true,
  handler: rotationStepsHandler,
} satisfies ServiceBusQueueFunctionOptions;

app.serviceBusQueue('rotationSteps', rotationStepsOptions);
