import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handleDashboardOverview } from '../src/dashboard/http.js';
import { radarServicesFor } from '../src/radar/services.js';
import { entryServicesFor } from '../src/app/compose.js';

/** What the dashboard shows: `GET /api/dashboard-data/overview`. Function key required. */
export async function dashboardOverviewHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const [entry, radar] = await Promise.all([entryServicesFor(context), radarServicesFor(context)]);
  return handleDashboardOverview(request, { entry, radar });
}

export const dashboardOverviewOptions: HttpFunctionOptions = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'dashboard-data/overview',
  handler: dashboardOverviewHandler,
};

app.http('dashboardOverview', dashboardOverviewOptions);
