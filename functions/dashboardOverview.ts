import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleDashboardOverview } from '../src/dashboard/http.js';
import { radarServicesFor } from '../src/radar/services.js';
import { servicesFor } from '../src/ways-in/invocation.js';

/** What the dashboard shows: `GET /api/dashboard-data/overview`. Function key required. */
export async function dashboardOverviewHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const [ways, radar] = await Promise.all([servicesFor(context), radarServicesFor(context)]);
  return handleDashboardOverview(request, { ways, radar });
}

export const dashboardOverviewOptions: HttpFunctionOptions = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'dashboard-data/overview',
  handler: dashboardOverviewHandler,
};

app.http('dashboardOverview', dashboardOverviewOptions);
