import type { InvocationContext } from '@azure/functions';
import { getWaysInServices, type WaysInServices } from './services.js';

/** The process's services with a logger that names the function and invocation, for one call. */
export async function servicesFor(context: InvocationContext): Promise<WaysInServices> {
  const services = await getWaysInServices();
  return { ...services, log: services.log.child({ function: context.functionName, invocationId: context.invocationId }) };
}
