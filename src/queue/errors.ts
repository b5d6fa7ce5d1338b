/**
 * A step message the handler cannot even parse. Thrown out of the trigger on
 * purpose: Service Bus redelivers it up to MaxDeliveryCount and then moves it
 * to the dead-letter queue, where the dead-letter handler reports it.
 */
export class StepMessageError extends Error {
  override readonly name = 'StepMessageError';
  readonly problem: string;

  constructor(problem: string) {
    super(`unparseable step message: ${problem}`);
    this.problem = problem;
  }
}

export function isStepMessageError(error: unknown): error is StepMessageError {
  return error instanceof StepMessageError;
}
