import { app, type InvocationContext, type ServiceBusQueueFunctionOptions } from '@azure/functions';
import { getRotor } from '../src/app/compose.js';
import { StepMessageError } from '../src/queue/errors.js';
import { parseStepMessage } from '../src/queue/step-message.js';
import { redeliveriesOf, runWithInfrastructureBackoff, type RedeliveryPolicy, type StepRedelivery } from '../src/queue/step-redelivery.js';
import type { RotationEngine } from '../src/rotation/engine.js';

/** What one invocation needs: the engine, and the way to send a step again later. */
export interface StepHandlerParts {
  readonly engine: Pick<RotationEngine, 'handleStep'>;
  /** Absent: an infrastructure failure is thrown as it is (no backoff). */
  readonly redelivery?: StepRedelivery;
}

/**
 * The step handler: one rotation step per message, on the session-enabled
 * step queue (one session per secret, so a secret's steps never run at once).
 * Thin on purpose: parse, run the step, return. A body that does not parse is
 * thrown (after a log line that names the problem, not the body), so Service
 * Bus dead-letters it after its max deliveries. A step that hits ledger or
 * queue trouble is sent again as a scheduled copy with backoff and the
 * delivery completes (src/queue/step-redelivery.ts): a storage blip costs
 * time, not the rotation. Everything else — retries, waits, rollback — is the
 * engine's, as scheduled messages.
 */
export function createRotationStepsHandler(resolve: () => Promise<StepHandlerParts | Pick<RotationEngine, 'handleStep'>>, policy?: RedeliveryPolicy) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const parsed = parseStepMessage(message);
    if (!parsed.ok) {
      context.error(`rotationSteps: dropping an unparseable message to the dead-letter queue: ${parsed.problem}`);
      throw new StepMessageError(parsed.problem);
    }
    const resolved = await resolve();
    const parts: StepHandlerParts = 'engine' in resolved ? resolved : { engine: resolved };
    const step = `${parsed.message.step} #${parsed.message.attempt} of ${parsed.message.rotationId}`;
    if (parts.redelivery === undefined) {
      const handled = await parts.engine.handleStep(parsed.message);
      context.log(`rotationSteps: ${step}: ${handled.result}`);
      return;
    }
    const outcome = await runWithInfrastructureBackoff({
      message: parsed.message,
      redeliveries: redeliveriesOf(context.triggerMetadata),
      run: () => parts.engine.handleStep(parsed.message),
      redelivery: parts.redelivery,
      ...(policy === undefined ? {} : { policy }),
    });
    if (outcome.kind === 'done') {
      context.log(`rotationSteps: ${step}: ${outcome.value.result}`);
      return;
    }
    const cause = outcome.error instanceof Error ? `${outcome.error.name}: ${outcome.error.message}` : String(outcome.error);
    context.warn(`rotationSteps: ${step}: infrastructure unavailable (${cause}); sent again in ${outcome.delayMs} ms (redelivery ${outcome.redelivery})`);
  };
}

export const rotationStepsHandler = createRotationStepsHandler(async () => {
  const rotor = await getRotor();
  return { engine: rotor.engine, ...(rotor.stepRedelivery === undefined ? {} : { redelivery: rotor.stepRedelivery }) };
});

export const rotationStepsOptions = {
  connection: 'ServiceBusConnection',
  queueName: '%ROTOR_STEP_QUEUE%',
  isSessionsEnabled: true,
  handler: rotationStepsHandler,
} satisfies ServiceBusQueueFunctionOptions;

app.serviceBusQueue('rotationSteps', rotationStepsOptions);
