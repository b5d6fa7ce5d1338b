import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleCancelRotation } from '../src/api/cancel-route.js';
import { servicesFor } from '../src/ways-in/invocation.js';

/** Cancels a running rotation: `POST /api/rotations/{id}/cancel` `{ reason? }`. Function key required. */
export async function cancelRotationHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleCancelRotation(request, await servicesFor(context));
}

export const cancelRotationOptions: HttpFunctionOptions = {
  methods: ['POST'],
  authLevel: 'function',
  route: 'rotations/{id}/cancel',
  handler: cancelRotationHandler,
};

app.http('cancelRotation', cancelRotationOptions);
