import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleStartRotation } from '../src/api/routes.js';
import { entryServicesFor } from '../src/app/compose.js';

/** Starts a rotation: `POST /api/rotations` `{ vault?, secret, dryRun?, reason? }`. Function key required. */
export async function startRotationHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleStartRotation(request, await entryServicesFor(context));
}

export const startRotationOptions: HttpFunctionOptions = {
  methods: ['POST'],
  authLevel: 'function',
  route: 'rotations',
  handler: startRotationHandler,
};

app.http('startRotation', startRotationOptions);
