import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleDashboardRotations } from '../src/dashboard/http.js';
import { radarServicesFor } from '../src/radar/services.js';
import { entryServicesFor } from '../src/app/compose.js';

/** A secret's newest rotations with their steps, for the dashboard's timeline: `GET /api/dashboard-data/secrets/{name}/rotations`. Function key required. */
export async function dashboardRotationsHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const [entry, radar] = await Promise.all([entryServicesFor(context), radarServicesFor(context)]);
  return handleDashboardRotations(request, { entry, radar });
}

export const dashboardRotationsOptions: HttpFunctionOptions = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'dashboard-data/secrets/{name}/rotations',
  handler: dashboardRotationsHandler,
};

app.http('dashboardRotations', dashboardRotationsOptions);
