import type { InvocationContext } from '@azure/functions';
import type { ConsumerApiServices } from '../api/consumers.js';
import { getRotor } from '../app/compose.js';

let provided: (() => Promise<ConsumerApiServices>) | undefined;

/** Replaces the composition root's services (tests with their own registry); `undefined` goes back to `getRotor`. */
export function provideConsumerApiServices(services: ConsumerApiServices | undefined): void {
  provided = services === undefined ? undefined : () => Promise.resolve(services);
}

/** The consumer API's services for one invocation, with a logger naming it. */
export async function consumerApiServicesFor(context: InvocationContext): Promise<ConsumerApiServices> {
  const services: ConsumerApiServices =
    provided !== undefined
      ? await provided()
      : await getRotor().then((rotor) => ({
          allowedVaults: rotor.settings.allowedVaults,
          registry: rotor.consumerRegistry,
          secrets: rotor.secretStore,
          log: rotor.logger,
        }));
  return { ...services, log: services.log.child({ function: context.functionName, invocationId: context.invocationId }) };
}
