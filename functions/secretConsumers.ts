import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleDeleteConsumers, handleGetConsumers, handlePutConsumers } from '../src/api/consumers.js';
import { consumerApiServicesFor } from '../src/consumers/api-services.js';

/**
 * A secret's registered consumers: `GET|PUT|DELETE /api/secrets/{name}/consumers?vault=`.
 * Function key required.
 */
export async function secretConsumersHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const services = await consumerApiServicesFor(context);
  switch (request.method.toUpperCase()) {
    case 'PUT':
      return handlePutConsumers(request, services);
    case 'DELETE':
      return handleDeleteConsumers(request, services);
    default:
      return handleGetConsumers(request, services);
  }
}

export const secretConsumersOptions: HttpFunctionOptions = {
  methods: ['GET', 'PUT', 'DELETE'],
  authLevel: 'function',
  route: 'secrets/{name}/consumers',
  handler: secretConsumersHandler,
};

app.http('secretConsumers', secretConsumersOptions);
