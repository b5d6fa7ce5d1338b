import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleStartBatch } from '../src/api/batch-routes.js';
import { entryServicesFor } from '../src/app/compose.js';

/** Rotates every selected secret of a vault now: `POST /api/rotations:batch` `{ vault?, selector, reason, dryRun?, force? }`. Function key required. */
export async function startBatchHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleStartBatch(request, await entryServicesFor(context));
}

export const startBatchOptions: HttpFunctionOptions = {
  methods: ['POST'],
  authLevel: 'function',
  route: 'rotations:batch',
  handler: startBatchHandler,
};

app.http('startBatch', startBatchOptions);
