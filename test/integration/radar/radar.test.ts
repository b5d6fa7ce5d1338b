import { HttpRequest } from '@azure/functions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expiringOptions } from '../../../functions/expiring.js';
import { runCli } from '../../../src/cli/run.js';
import { buildOverview } from '../../../src/dashboard/overview.js';
import { startLocalHost } from '../../../src/local/host.js';
import { createLogger, createMemorySink } from '../../../src/observability/logger.js';
import { provideRadarServices } from '../../../src/radar/services.js';
import type { Rotation } from '../../../src/rotation/model.js';
import type { EntryServices } from '../../../src/entry/services.js';
import { createFakeLedger } from '../../helpers/fakes/index.js';
import { handleListExpiring } from '../../../src/radar/http.js';
import { scanExpiring } from '../../../src/radar/radar.js';
import { sendExpiryWarnings } from '../../../src/radar/warnings.js';
import { DAY, startRadarGround, type RadarGround } from './radar-ground.js';

// The expiry radar on the emulators: secrets of the Key Vault emulator,
// app registrations of the Graph stand-in, warnings recorded in Azurite and
// published to the Event Grid emulator's topic, all on the vault's clock.

const start = new Date('2027-01-01T00:00:00.000Z');
const at = (days: number) => new Date(start.getTime() + days * DAY).toISOString();

const rotatedApp = { appId: 'aaaaaaaa-0000-4000-8000-000000000001', displayName: 'Dynamics integration' };
const watchedApp = { appId: 'bbbbbbbb-0000-4000-8000-000000000002', displayName: 'Payroll connector' };
const missingApp = 'cccccccc-0000-4000-8000-000000000003';
const clientSecretText = 'xyz8Q~this-is-the-client-secret-text-000';

describe('expiry radar', () => {
  let ground: RadarGround;

  beforeAll(async () => {
    ground = await startRadarGround({
      start,
      applications: [
        {
          ...rotatedApp,
          passwords: [
            { keyId: '10000000-0000-4000-8000-00000000000a', displayName: 'hand-made', endDateTime: at(10), secretText: clientSecretText },
            { keyId: '10000000-0000-4000-8000-00000000000b', displayName: 'long-lived', endDateTime: at(400) },
          ],
          certificates: [{ keyId: '20000000-0000-4000-8000-00000000000a', displayName: 'CN=dynamics', endDateTime: at(20) }],
        },
        {
          ...watchedApp,
          passwords: [{ keyId: '10000000-0000-4000-8000-00000000000c', displayName: 'payroll', endDateTime: at(60) }],
          certificates: [{ keyId: '20000000-0000-4000-8000-00000000000b', displayName: 'CN=payroll-old', endDateTime: at(-2) }],
        },
      ],
    });
    const c = ground.client;
    const exp = (days: number) => new Date(start.getTime() + days * DAY);
    await c.setSecret('db-password', 'managed-value-1', { expiresOn: exp(5), tags: { 'rotor-rotator': 'random' } });
    await c.setSecret('legacy-api-key', 'unmanaged-value-2', { expiresOn: exp(12) });
    await c.setSecret('partner-token', 'unmanaged-value-3', { expiresOn: exp(33) });
    await c.setSecret('far-future', 'unmanaged-value-4', { expiresOn: exp(200) });
    await c.setSecret('no-expiry', 'unmanaged-value-5');
    await c.setSecret('old-password', 'unmanaged-value-6', { expiresOn: exp(-3) });
    await c.setSecret('dynamics-client-secret', clientSecretText, {
      expiresOn: exp(80),
      tags: { 'rotor-rotator': 'entra-app-secret', 'rotor-target': rotatedApp.appId, 'rotor-validity': 'P180D', 'rotor-entra-tenant': ground.graph.tenantId },
    });
  });

  beforeEach(() => {
    // Each test starts on the first day; the warnings test moves the clock weeks ahead.
    ground.kv.admin.clock.set(start);
  });

  afterAll(async () => {
    await ground?.stop();
  });

  it('lists secrets, managed or not, and both kinds of app registration credential expiring within the window, expired first', async () => {
    // Prepare
    const services = await ground.services({ watchApplications: [watchedApp.appId, missingApp] });

    // Act
    const scan = await scanExpiring(services.sources, { now: ground.kv.admin.clock.now(), withinMs: 30 * DAY });

    // Assess
    expect(scan.items.map((i) => [i.kind, i.kind === 'secret' ? i.name : `${i.appId}/${i.displayName ?? ''}`, i.expired])).toEqual([
      ['secret', 'old-password', true],
      ['app-certificate', `${watchedApp.appId}/CN=payroll-old`, true],
      ['secret', 'db-password', false],
      ['app-password', `${rotatedApp.appId}/hand-made`, false],
      ['secret', 'legacy-api-key', false],
      ['app-certificate', `${rotatedApp.appId}/CN=dynamics`, false],
    ]);
    const db = scan.items.find((i) => i.kind === 'secret' && i.name === 'db-password');
    expect(db).toMatchObject({ managed: true, rotator: 'random', nextDue: at(5 - 30) });
    // The vault's clock runs on from its start while the test runs.
    expect(Math.abs((db?.expiresInSeconds ?? 0) - 5 * 86400)).toBeLessThan(600);
    expect(db?.version).toMatch(/^[0-9a-f]{32}$/);
    expect(scan.items.find((i) => i.kind === 'secret' && i.name === 'legacy-api-key')).toMatchObject({ managed: false });
    expect(scan.items.find((i) => i.kind === 'app-password')).toMatchObject({
      appDisplayName: rotatedApp.displayName,
      watchedBecause: ['policy'],
      rotatedBy: [{ vaultUrl: ground.vaultUrl, name: 'dynamics-client-secret' }],
    });
    expect(scan.items.find((i) => i.kind === 'app-certificate' && i.appId === watchedApp.appId)).toMatchObject({ watchedBecause: ['setting'] });
    expect(scan.gaps).toEqual([{ source: `applications/${missingApp}`, detail: expect.stringContaining('404') }]);
    // Names, ids and dates only: no value, no client secret text, not even its hint.
    const body = JSON.stringify(scan);
    for (const value of ['managed-value-1', 'unmanaged-value-2', clientSecretText, clientSecretText.slice(0, 3) + '"']) expect(body).not.toContain(value);
  });

  it('widens to every credential with a longer window', async () => {
    const services = await ground.services({ watchApplications: [watchedApp.appId] });

    const scan = await scanExpiring(services.sources, { now: ground.kv.admin.clock.now(), withinMs: 500 * DAY });

    expect(scan.items).toHaveLength(11);
    expect(scan.gaps).toEqual([]);
  });

  it('answers GET /api/expiring with the window and problem+json naming a bad within', async () => {
    const services = await ground.services({ watchApplications: [watchedApp.appId] });
    const get = (query: Record<string, string>) =>
      handleListExpiring(new HttpRequest({ method: 'GET', url: `http://localhost/api/expiring?${new URLSearchParams(query).toString()}`, query }), services);

    const ok = await get({ within: 'P14D' });
    const bad = await get({ within: 'two weeks' });
    const zero = await get({ within: 'P0D' });

    expect(ok.status).toBe(200);
    const body = JSON.parse(ok.body as string);
    expect(body).toMatchObject({ within: 'P14D', withinSeconds: 14 * 86400, gaps: [] });
    expect(body.items.map((i: { name?: string; displayName?: string }) => i.name ?? i.displayName)).toEqual(['old-password', 'CN=payroll-old', 'db-password', 'hand-made', 'legacy-api-key']);
    for (const answer of [bad, zero]) {
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body as string).errors).toEqual([expect.objectContaining({ field: 'within', in: 'query' })]);
    }
  });

  it('sends each expiry warning exactly once per object, version and threshold, across instances, as the clock moves', async () => {
    // Prepare: two instances sharing one warning record, sweeping on the vault's clock.
    const container = `warned-${Date.now().toString(36)}`;
    const [one, two] = await Promise.all([
      ground.services({ watchApplications: [watchedApp.appId], container }),
      ground.services({ watchApplications: [watchedApp.appId], container }),
    ]);
    const before = ground.eventGrid.admin.published({ topic: 'rotor-notifications' }).length;

    // Act: sweep daily on both instances at once, for 36 days (every threshold of every item is crossed).
    for (let day = 0; day <= 36; day += 1) {
      await Promise.all([sendExpiryWarnings(one), sendExpiryWarnings(two)]);
      ground.kv.admin.clock.advance(DAY);
    }

    // Assess
    const events = ground.eventGrid.admin.published({ topic: 'rotor-notifications' }).slice(before).map((r) => r.event as { id: string; type: string; subject: string; data: Record<string, unknown> });
    expect(events.every((e) => e.type === 'Rotor.Expiry.Warning')).toBe(true);
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const thresholdsOf = (subjectEnd: string) => events.filter((e) => e.subject.endsWith(subjectEnd)).map((e) => e.data.threshold);
    // First seen 33 days out: every threshold, in order, once.
    expect(thresholdsOf('/partner-token')).toEqual(['P30D', 'P14D', 'P7D', 'P1D']);
    // First seen inside a threshold: the tightest crossed, then the tighter ones.
    expect(thresholdsOf('/legacy-api-key')).toEqual(['P14D', 'P7D', 'P1D']);
    expect(thresholdsOf('/db-password')).toEqual(['P7D', 'P1D']);
    expect(thresholdsOf('/old-password')).toEqual(['P1D']);
    expect(thresholdsOf('/passwordCredentials/10000000-0000-4000-8000-00000000000a')).toEqual(['P14D', 'P7D', 'P1D']);
    expect(thresholdsOf('/keyCredentials/20000000-0000-4000-8000-00000000000a')).toEqual(['P30D', 'P14D', 'P7D', 'P1D']);
    expect(thresholdsOf('/keyCredentials/20000000-0000-4000-8000-00000000000b')).toEqual(['P1D']);
    // 60 days out at the start: within 30 days from day 30 on.
    expect(thresholdsOf('/passwordCredentials/10000000-0000-4000-8000-00000000000c')).toEqual(['P30D']);
    // Warnings carry names and dates only.
    const text = JSON.stringify(events);
    for (const value of ['managed-value-1', 'unmanaged-value-2', 'unmanaged-value-3', clientSecretText]) expect(text).not.toContain(value);
  }, 180_000);

  it('rotor expiring lists the radar through the local host, the function key and the Graph stand-in', async () => {
    // Prepare: the registered function on the local host, the radar on this ground.
    provideRadarServices(await ground.services({ watchApplications: [watchedApp.appId, missingApp] }));
    const host = await startLocalHost({ functions: [{ name: 'expiring', trigger: 'http', options: expiringOptions }], env: {}, log: createLogger(createMemorySink()), timers: 'manual' });
    const run = async (argv: string[], key = host.functionKey) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(argv, {
        env: { ROTOR_API_URL: host.apiUrl, ROTOR_API_KEY: key },
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        now: () => ground.kv.admin.clock.now(),
      });
      return { code, stdout, stderr };
    };
    try {
      // Act
      const table = await run(['expiring', '--within', 'P14D']);
      const json = await run(['expiring', '--json']);
      const unauthorized = await run(['expiring'], 'not-the-key');
      const usage = await run(['expiring', '--within', 'soon']);

      // Assess
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^EXPIRES\s+WHEN\s+KIND\s+NAME\s+WHERE\s+ROTATED BY$/);
      expect(lines.slice(1).map((l) => l.split(/\s{2,}/)[2])).toEqual(['secret', 'certificate', 'secret', 'client secret', 'secret']);
      expect(lines[1]).toMatch(/old-password .*nobody: not managed/);
      expect(lines[2]).toContain('Payroll connector / CN=payroll-old');
      expect(lines[3]).toMatch(/db-password .*Rotor \(random\)/);
      expect(table.stderr).toContain(`warning: applications/${missingApp}: could not read the app registration`);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({ within: 'P30D', items: expect.arrayContaining([expect.objectContaining({ kind: 'app-certificate', displayName: 'CN=dynamics' })]) });
      expect(unauthorized.code).toBe(1);
      expect(unauthorized.stderr).toContain('401');
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('--within must be an ISO-8601 duration');
      for (const out of [table.stdout, json.stdout]) expect(out).not.toContain(clientSecretText);
    } finally {
      provideRadarServices(undefined);
      await host.stop();
    }
  });

  it('feeds the dashboard: every secret, app credentials within 90 days, what runs and what needs a human', async () => {
    // Prepare: one rotation running, one rolled back, in a ledger.
    const radar = await ground.services({ watchApplications: [watchedApp.appId] });
    const ledger = createFakeLedger({ now: () => new Date() });
    const rotation = (id: string, name: string, patch: Partial<Rotation>): Rotation => ({
      id,
      secret: { vaultUrl: ground.vaultUrl, name },
      trigger: { kind: 'sweep' },
      rotator: 'random',
      strategy: 'single',
      status: 'Running',
      step: 'verify',
      dryRun: false,
      createdAt: start.toISOString(),
      updatedAt: start.toISOString(),
      deadline: at(1),
      versions: {},
      steps: [],
      undo: [],
      ...patch,
    });
    await ledger.createRotation(rotation('run-1', 'db-password', { notBefore: new Date(start.getTime() + 3_600_000).toISOString() }));
    await ledger.acquireLock({ vaultUrl: ground.vaultUrl, name: 'db-password' }, 'run-1');
    await ledger.createRotation(rotation('back-1', 'dynamics-client-secret', { rotator: 'entra-app-secret', status: 'RolledBack', step: 'rollback', endedAt: start.toISOString(), reason: 'self-test failed' }));
    const entry = { allowedVaults: [ground.vaultUrl], expiryHorizonMs: 30 * DAY, ledger, clock: radar.clock, log: radar.log } as unknown as EntryServices;

    // Act
    const overview = await buildOverview({ entry, radar }, start);

    // Assess
    expect(overview.secrets.map((s) => s.name).sort()).toEqual(['db-password', 'dynamics-client-secret', 'far-future', 'legacy-api-key', 'no-expiry', 'old-password', 'partner-token']);
    expect(overview.secrets.find((s) => s.name === 'legacy-api-key')).toMatchObject({ managed: false, policy: 'none', expiresOn: at(12) });
    expect(overview.secrets.find((s) => s.name === 'dynamics-client-secret')).toMatchObject({ managed: true, rotator: 'entra-app-secret', nextDue: at(50), last: { id: 'back-1', status: 'RolledBack' } });
    expect(overview.applications.map((a) => a.displayName)).toEqual(['CN=payroll-old', 'hand-made', 'CN=dynamics', 'payroll']);
    expect(overview.live).toEqual([expect.objectContaining({ id: 'run-1', waitingFor: expect.stringContaining('grace period') })]);
    expect(overview.needsHuman).toEqual([expect.objectContaining({ id: 'back-1', why: 'rolled back: self-test failed' })]);
    expect(overview.gaps).toEqual([]);
    const text = JSON.stringify(overview);
    for (const value of ['managed-value-1', 'unmanaged-value-2', clientSecretText]) expect(text).not.toContain(value);
  });
});
