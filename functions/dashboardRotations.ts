import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleDashboardRotations } from '../src/dashboard/http.js';
import { radarServicesFor } from '../src/radar/services.js';
import { servicesFor } from '../src/ways-in/invocation.js';

/** A secret's newest rotations with their steps, for the dashboard's timeline: `GET /api/dashboard-data/secrets/{name}/rotations`. Function key required. */
export async function dashboardRotationsHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const [ways, radar] = await Promise.all([servicesFor(context), radarServicesFor(context)]);
  return handleDashboardRotations(request, { ways, radar });
}

export const dashboardRotationsOptions: HttpFunctionOptions = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'dashboard-data/secrets/{name}/rotations',
  handler: dashboardRotationsHandler,
};

app.http('dashboardRotations', dashboardRotationsOptions);
