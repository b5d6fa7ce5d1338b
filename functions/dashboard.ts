import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { handleDashboardPage } from '../src/dashboard/assets.js';

/**
 * The dashboard page and its script and style: `GET /api/dashboard`. Anonymous,
 * because the files hold no data; the data endpoints it reads want the
 * function key (docs/dashboard.md: putting it behind Entra ID sign-in).
 */
export function dashboardHandler(request: HttpRequest): Promise<HttpResponseInit> {
  return Promise.resolve(handleDashboardPage(request));
}

export const dashboardOptions: HttpFunctionOptions = {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'dashboard/{*path}',
  handler: dashboardHandler,
};

app.http('dashboard', dashboardOptions);
