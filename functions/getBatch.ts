import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleGetBatch } from '../src/api/batch-routes.js';
import { entryServicesFor } from '../src/app/compose.js';

/** A batch with its rotations counted by status: `GET /api/batches/{id}`. Function key required. */
export async function getBatchHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleGetBatch(request, await entryServicesFor(context));
}

export const getBatchOptions: HttpFunctionOptions = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'batches/{id}',
  handler: getBatchHandler,
};

app.http('getBatch', getBatchOptions);
