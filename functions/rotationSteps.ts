import { app, type InvocationContext, type ServiceBusQueueFunctionOptions } from '@azure/functions';
import { getRotor } from '../src/app/compose.js';
import { startQueuedEvent } from '../src/events/intake.js';
import { parseStartMessage, type EventStart, type StartQueue } from '../src/events/start-message.js';
import { StepMessageError } from '../src/queue/errors.js';
import { parseStepMessage } from '../src/queue/step-message.js';
import { isFirstDelivery, redeliveriesOf, runWithInfrastructureBackoff, type BackoffOutcome, type RedeliveryPolicy, type StepRedelivery } from '../src/queue/step-redelivery.js';
import type { RotationEngine } from '../src/rotation/engine.js';

/** What one invocation needs: the engine, and the way to send a step again later. */
export interface StepHandlerParts {
  readonly engine: Pick<RotationEngine, 'handleStep'>;
  /** Absent: an infrastructure failure is thrown as it is (no backoff). */
  readonly redelivery?: StepRedelivery;
  /** Events the intake enqueued: their rotation is started here, with every check (absent: such a message is refused). */
  readonly starts?: { readonly run: (start: EventStart) => Promise<{ readonly outcome: string }>; readonly queue?: StartQueue };
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
    const start = parseStartMessage(message);
    if (start.ok) return handleStart(start.start, await resolve(), context, policy);
    const parsed = parseStepMessage(message);
    if (!parsed.ok) {
      context.error(`rotationSteps: dropping an unparseable message to the dead-letter queue: ${parsed.problem}`);
      throw new StepMessageError(parsed.problem);
    }
    const resolved = await resolve();
    const parts: StepHandlerParts = 'engine' in resolved ? resolved : { engine: resolved };
    const step = `${parsed.message.step} #${parsed.message.attempt} of ${parsed.message.rotationId}`;
    const delivery = { first: isFirstDelivery(context.triggerMetadata) };
    if (parts.redelivery === undefined) {
      const handled = await parts.engine.handleStep(parsed.message, delivery);
      context.log(`rotationSteps: ${step}: ${handled.result}`);
      return;
    }
    const outcome = await runWithInfrastructureBackoff({
      message: parsed.message,
      redeliveries: redeliveriesOf(context.triggerMetadata),
      run: () => parts.engine.handleStep(parsed.message, delivery),
      redelivery: parts.redelivery,
      ...(policy === undefined ? {} : { policy }),
    });
    logOutcome(context, step, outcome, (handled) => handled.result);
  };
}

/** One line per invocation: what the message led to (closed words, never a value), or when it is sent again. */
function logOutcome<T>(context: InvocationContext, what: string, outcome: BackoffOutcome<T>, summary: (value: T) => string): void {
  if (outcome.kind === 'done') {
    context.log(`rotationSteps: ${what}: ${summary(outcome.value)}`);
    return;
  }
  const cause = outcome.error instanceof Error ? `${outcome.error.name}: ${outcome.error.message}` : String(outcome.error);
  context.warn(`rotationSteps: ${what}: infrastructure unavailable (${cause}); sent again in ${outcome.delayMs} ms (redelivery ${outcome.redelivery})`);
}

/**
 * An event the intake enqueued: its rotation starts now (vault read, policy,
 * latest version, lock; src/events/intake.ts). Ledger or queue trouble sends a
 * scheduled copy with the steps' backoff, as for a step.
 */
async function handleStart(start: EventStart, resolved: StepHandlerParts | Pick<RotationEngine, 'handleStep'>, context: InvocationContext, policy?: RedeliveryPolicy): Promise<void> {
  const parts: StepHandlerParts = 'engine' in resolved ? resolved : { engine: resolved };
  const what = `start of ${start.secret.name}@${start.version}`;
  if (parts.starts === undefined) {
    context.error(`rotationSteps: no intake to run the ${what}; dropping it to the dead-letter queue`);
    throw new StepMessageError('a start message where no intake runs');
  }
  const { queue } = parts.starts;
  const run = (s: EventStart) => parts.starts!.run(s);
  if (queue === undefined || parts.redelivery === undefined) {
    const result = await run(start);
    context.log(`rotationSteps: ${what}: ${result.outcome}`);
    return;
  }
  const outcome = await runWithInfrastructureBackoff({
    message: start,
    redeliveries: redeliveriesOf(context.triggerMetadata),
    run: () => run(start),
    redelivery: { ...(parts.redelivery.policy === undefined ? {} : { policy: parts.redelivery.policy }), resend: (s, redelivery, notBefore) => queue.enqueue(s, { redelivery, notBefore }) },
    ...(policy === undefined ? {} : { policy }),
  });
  logOutcome(context, what, outcome, (started) => started.outcome);
}

export const rotationStepsHandler = createRotationStepsHandler(async () => {
  const rotor = await getRotor();
  return {
    engine: rotor.engine,
    ...(rotor.stepRedelivery === undefined ? {} : { redelivery: rotor.stepRedelivery }),
    starts: { run: (start: EventStart) => startQueuedEvent(start, { startRotation: rotor.engine.startRotation, log: rotor.logger }), ...(rotor.startQueue === undefined ? {} : { queue: rotor.startQueue }) },
  };
});

export const rotationStepsOptions = {
  connection: 'ServiceBusConnection',
  queueName: '%ROTOR_STEP_QUEUE%',
  isSessionsEnabled: true,
  handler: rotationStepsHandler,
} satisfies ServiceBusQueueFunctionOptions;

app.serviceBusQueue('rotationSteps', rotationStepsOptions);
