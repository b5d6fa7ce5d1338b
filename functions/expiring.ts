import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleListExpiring } from '../src/radar/http.js';
import { radarServicesFor } from '../src/radar/services.js';

/** The expiry radar: `GET /api/expiring?within=P30D`. Function key required. */
export async function expiringHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleListExpiring(request, await radarServicesFor(context));
}

export const expiringOptions: HttpFunctionOptions = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'expiring',
  handler: expiringHandler,
};

app.http('expiring', expiringOptions);
