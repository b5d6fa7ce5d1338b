import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleGetRotation } from '../src/api/routes.js';
import { entryServicesFor } from '../src/app/compose.js';

/** One rotation's record: `GET /api/rotations/{id}`. Function key required. */
export async function getRotationHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleGetRotation(request, await entryServicesFor(context));
}

export const getRotationOptions: HttpFunctionOptions = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'rotations/{id}',
  handler: getRotationHandler,
};

app.http('getRotation', getRotationOptions);
