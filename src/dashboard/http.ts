import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import { checkParam, checkQuery, resolveVault } from '../api/requests.js';
import { answering } from '../api/routes.js';
import { secretNameSchema, vaultUrlSchema } from '../keyvault/secret-ref.js';
import { buildOverview, type DashboardServices } from './overview.js';
import { presentRotation } from './present.js';

/** Data answers change every few seconds and describe the estate: never cached, never sniffed. */
const dataHeaders = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

/** `GET /api/dashboard-data/overview`: secrets, expiries, live rotations, what needs a human. */
export function handleDashboardOverview(request: HttpRequest, services: DashboardServices): Promise<HttpResponseInit> {
  return answering(request, services.entry.log, async () => {
    const overview = await buildOverview(services, services.entry.clock.now());
    return { status: 200, headers: dataHeaders, body: JSON.stringify(overview) };
  });
}

const rotationsQuerySchema = z.object({
  vault: z.string().max(2048, 'is too long').pipe(vaultUrlSchema).optional(),
  limit: z
    .string()
    .regex(/^\d{1,2}$/, 'must be a whole number from 1 to 20')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(20, 'must be at most 20'))
    .optional(),
});

/** `GET /api/dashboard-data/secrets/{name}/rotations?vault=&limit=`: the newest rotations with every step, for the timeline. */
export function handleDashboardRotations(request: HttpRequest, services: DashboardServices): Promise<HttpResponseInit> {
  const { entry } = services;
  return answering(request, entry.log, async () => {
    const name = checkParam(request, 'name', secretNameSchema);
    if (!name.ok) return name.response;
    const query = checkQuery(request, rotationsQuerySchema);
    if (!query.ok) return query.response;
    const vault = resolveVault(request, query.value.vault, entry.allowedVaults, 'query');
    if (!vault.ok) return vault.response;
    const secret = { vaultUrl: vault.value, name: name.value };
    const page = await entry.ledger.listRotations(secret, { limit: query.value.limit ?? 5 });
    const now = entry.clock.now();
    const records = await Promise.all(page.items.map(async (item) => (await entry.ledger.getRotation(item.id))?.value));
    const rotations = records.flatMap((r) => (r === undefined ? [] : [presentRotation(r, now)]));
    return { status: 200, headers: dataHeaders, body: JSON.stringify({ asOf: now.toISOString(), secret, rotations }) };
  });
}

