import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleCancelRotation } from '../src/api/cancel-route.js';
import { entryServicesFor } from '../src/app/compose.js';

/** Cancels a running rotation: `POST /api/rotations/{id}/cancel` `{ reason? }`. Function key required. */
export async function cancelRotationHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleCancelRotation(request, await entryServicesFor(context));
}

export const cancelRotationOptions: HttpFunctionOptions = {
  methods: ['POST'],
  authLevel: 'function',
  route: 'rotations/{id}/cancel',
  handler: cancelRotationHandler,
};

app.http('cancelRotation', cancelRotationOptions);
