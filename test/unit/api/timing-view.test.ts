import { HttpRequest, HttpResponse } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { handleListSecrets } from '../../../src/api/routes.js';
import { createFakeWaysIn, secretInfo } from '../../helpers/fakes/entry.js';

const BASE = 'http://localhost:7071/api';
const managed = { 'rotor-rotator': 'random' };

describe('GET /api/secrets: next due honours schedule, window and pause', () => {
  it('shows the window opening, the schedule, and paused secrets without a due time', async () => {
    // Prepare: Sunday Nov 22 2026 10:00 UTC
    const { services } = createFakeWaysIn({
      now: '2026-11-22T10:00:00Z',
      secrets: [
        secretInfo('in-window-later', 'v1', { tags: { ...managed, 'rotor-window': '0 2 * * 6 PT4H' }, expiresOn: '2026-12-10T00:00:00Z' }),
        secretInfo('scheduled', 'v1', { tags: { ...managed, 'rotor-schedule': 'P30D' }, createdOn: '2026-11-20T00:00:00Z', expiresOn: '2027-06-01T00:00:00Z' }),
        secretInfo('paused', 'v1', { tags: { ...managed, 'rotor-paused': 'true' }, expiresOn: '2026-12-10T00:00:00Z' }),
      ],
    });

    // Act
    const response = new HttpResponse(await handleListSecrets(new HttpRequest({ method: 'GET', url: `${BASE}/secrets` }), services));
    const body = (await response.json()) as { items: Record<string, unknown>[] };

    // Assess
    const [windowed, scheduled, paused] = body.items;
    expect(windowed).toMatchObject({
      nextDue: '2026-11-28T02:00:00.000Z',
      dueAt: '2026-11-10T00:00:00.000Z',
      dueBy: 'expiry',
      deferredByWindow: true,
      timing: { window: '0 2 * * 6 PT4H', paused: false },
    });
    expect(scheduled).toMatchObject({ nextDue: '2026-12-20T00:00:00.000Z', dueBy: 'schedule', timing: { schedule: 'P30D' } });
    expect(paused).toMatchObject({ paused: true, timing: { paused: true } });
    expect(paused).not.toHaveProperty('nextDue');
  });
});
