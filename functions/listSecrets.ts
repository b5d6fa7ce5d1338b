import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleListSecrets } from '../src/api/routes.js';
import { entryServicesFor } from '../src/app/compose.js';

/** The managed secrets: `GET /api/secrets`. Function key required. */
export async function listSecretsHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleListSecrets(request, await entryServicesFor(context));
}

export const listSecretsOptions: HttpFunctionOptions = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'secrets',
  handler: listSecretsHandler,
};

app.http('listSecrets', listSecretsOptions);
