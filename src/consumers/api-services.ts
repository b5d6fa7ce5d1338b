import type { InvocationContext } from '@azure/functions';
import type { ConsumerApiServices } from '../api/consumers.js';
import { getRotor } from '../app/compose.js';

/** The consumer API's services for one invocation, from the process's Rotor, with a logger naming it. */
export async function consumerApiServicesFor(context: InvocationContext): Promise<ConsumerApiServices> {
  const rotor = await getRotor();
  return {
    allowedVaults: rotor.settings.allowedVaults,
    registry: rotor.consumerRegistry,
    secrets: rotor.secretStore,
    log: rotor.logger.child({ function: context.functionName, invocationId: context.invocationId }),
  };
}
