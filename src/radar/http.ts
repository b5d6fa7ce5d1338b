import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import { checkQuery } from '../api/requests.js';
import { answering } from '../api/routes.js';
import { durations, parseIsoDuration } from '../time/iso-duration.js';
import { scanExpiring } from './radar.js';
import type { RadarServices } from './services.js';
import { formatThreshold } from './warnings.js';

/** Five years: longer than any credential Entra or Rotor issues, short enough to stay one listing. */
const MAX_WITHIN_MS = 5 * 365 * durations.DAY;

export const expiringQuerySchema = z.object({
  within: z
    .string()
    .trim()
    .default('P30D')
    .refine((v) => (parseIsoDuration(v) ?? 0) > 0, 'must be an ISO-8601 duration longer than zero, such as P30D or PT12H')
    .transform((v) => parseIsoDuration(v) as number)
    .refine((ms) => ms <= MAX_WITHIN_MS, 'must be at most five years (P1825D)'),
});

/**
 * `GET /api/expiring?within=P30D`: every secret of the allowed vaults (managed
 * or not) and every password and certificate credential of the watched app
 * registrations that expires within the window, expired ones first. What
 * could not be read is listed under `gaps`, so an empty list means nothing
 * expires, not that nothing could be read.
 */
export async function handleListExpiring(request: HttpRequest, services: RadarServices): Promise<HttpResponseInit> {
  const query = checkQuery(request, expiringQuerySchema);
  if (!query.ok) return query.response;
  return answering(request, services.log, async () => {
    const scan = await scanExpiring(services.sources, { now: services.clock.now(), withinMs: query.value.within });
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ asOf: scan.asOf, within: formatThreshold(query.value.within), withinSeconds: scan.withinSeconds, items: scan.items, gaps: scan.gaps }),
    };
  });
}
