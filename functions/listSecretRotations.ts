import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleListSecretRotations } from '../src/api/routes.js';
import { entryServicesFor } from '../src/app/compose.js';

/** A secret's rotations, newest first, paged: `GET /api/secrets/{name}/rotations`. Function key required. */
export async function listSecretRotationsHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleListSecretRotations(request, await entryServicesFor(context));
}

export const listSecretRotationsOptions: HttpFunctionOptions = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'secrets/{name}/rotations',
  handler: listSecretRotationsHandler,
};

app.http('listSecretRotations', listSecretRotationsOptions);
