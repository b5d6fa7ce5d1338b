import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleGetBatch } from '../src/api/batch-routes.js';
import { servicesFor } from '../src/ways-in/invocation.js';

/** A batch with its rotations counted by status: `GET /api/batches/{id}`. Function key required. */
export async function getBatchHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleGetBatch(request, await servicesFor(context));
}

export const getBatchOptions: HttpFunctionOptions = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'batches/{id}',
  handler: getBatchHandler,
};

app.http('getBatch', getBatchOptions);
