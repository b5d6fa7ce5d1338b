import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { handleDashboardPage } from '../../../src/dashboard/assets.js';
import { needsHumanBecause, presentRotation, waitingFor } from '../../../src/dashboard/present.js';
import type { Rotation, StepRecord } from '../../../src/rotation/model.js';

const now = new Date('2026-12-04T12:00:00.000Z');
const step = (name: StepRecord['step'], outcome: StepRecord['outcome'] = 'succeeded', extra: Partial<StepRecord> = {}): StepRecord => ({
  step: name,
  attempt: 1,
  startedAt: '2026-12-04T11:59:00.000Z',
  endedAt: '2026-12-04T11:59:01.000Z',
  outcome,
  ...extra,
});
const rotation = (patch: Partial<Rotation>): Rotation => ({
  id: 'rot-1',
  secret: { vaultUrl: 'https://kv-app.vault.azure.net', name: 'db-password' },
  trigger: { kind: 'manual', reason: 'drill' },
  rotator: 'postgres',
  strategy: 'single',
  status: 'Running',
  step: 'prepare',
  dryRun: false,
  createdAt: '2026-12-04T11:59:00.000Z',
  updatedAt: '2026-12-04T11:59:01.000Z',
  deadline: '2026-12-04T13:00:00.000Z',
  versions: { previous: 'a'.repeat(32) },
  steps: [step('begin')],
  undo: [],
  ...patch,
});

describe('what the dashboard shows of a rotation', () => {
  it('lists fields one by one: no policy snapshot, no raw tags, no undo refs', () => {
    const view = presentRotation(
      rotation({
        policy: { rotator: 'postgres', strategy: 'single', validityMs: 1, graceMs: 0, health: [{ url: 'https://app/health?code=probe-key-123', expectStatus: 200 }], tags: { note: 'pasted-value-123' } },
        undo: [{ step: 'prepare', action: 'prepared', refs: { role: 'app_b' } }],
        prepared: { refs: { credentialId: 'cred-1' } },
      }),
      now,
    );

    const text = JSON.stringify(view);
    for (const hidden of ['probe-key-123', 'pasted-value-123', 'app_b', 'cred-1', 'policy', 'undo']) expect(text).not.toContain(hidden);
    expect(view).toMatchObject({ id: 'rot-1', status: 'Running', trigger: { kind: 'manual', reason: 'drill' }, steps: [{ step: 'begin', outcome: 'succeeded' }] });
  });

  it('shows consumer adoption when the record carries it, whatever is recognisable of it', () => {
    const withConsumers = {
      ...rotation({ step: 'verify' }),
      adoption: {
        timeoutMs: 600_000,
        deadline: '2026-12-04T12:10:00.000Z',
        consumers: [
          { entry: 'https://orders.example.com/rotor/consumer?code=never-shown-1234', kind: 'https', state: 'adopted', version: 'b'.repeat(32), adoptedAt: '2026-12-04T11:59:30.000Z', report: 'reported b' },
          { entry: 'containerapp:/subscriptions/s/resourceGroups/g/providers/Microsoft.App/containerApps/api', kind: 'containerapp', state: 'unreported' },
          { bogus: true },
        ],
      },
    };

    const view = presentRotation(withConsumers, now);

    expect(view.consumers).toEqual([
      { name: 'https://orders.example.com/rotor/consumer', state: 'adopted', version: 'b'.repeat(32), at: '2026-12-04T11:59:30.000Z', detail: 'reported b' },
      { name: 'containerapp:/subscriptions/s/resourceGroups/g/providers/Microsoft.App/containerApps/api', state: 'unreported' },
    ]);
    expect(JSON.stringify(view)).not.toContain('never-shown-1234');
    expect(view.waitingFor).toContain('consumers to adopt the new version (until 2026-12-04T12:10:00.000Z)');
    expect(presentRotation(rotation({}), now).consumers).toBeUndefined();
  });

  it.each([
    [{ step: 'verify', notBefore: '2026-12-04T12:00:30.000Z' } as const, 'grace period for consumers'],
    [{ step: 'prepare', attempt: 3, notBefore: '2026-12-04T12:00:05.000Z', steps: [step('prepare', 'retrying', { error: { code: 'Throttled', message: '429' } })] } as const, 'retry 3 of prepare after Throttled'],
    [{ step: 'revoke', notBefore: '2026-12-05T12:00:00.000Z' } as const, 'revoke-after delay'],
    [{ step: 'promote' } as const, 'step promote: its message is on the step queue'],
    [{ status: 'RollingBack', step: 'rollback' } as const, 'rollback step rollback'],
  ])('a running rotation %j waits for "%s"', (patch, expected) => {
    expect(waitingFor(rotation(patch), now)).toContain(expected);
  });

  it.each([
    [{ status: 'RolledBack', reason: 'probe 503' } as const, 'rolled back: probe 503'],
    [{ status: 'Failed', step: 'retire', reason: 'Forbidden', steps: [step('verify'), step('retire', 'failed')] } as const, 'failed after verify'],
    [{ status: 'Failed', step: 'rollback', reason: 'Unavailable', steps: [step('rollback', 'failed')] } as const, 'rollback failed'],
    [{ status: 'Failed', step: 'begin', reason: 'invalid policy' } as const, undefined],
    [{ status: 'Completed' } as const, undefined],
    [{ status: 'Aborted' } as const, undefined],
  ])('%j needs a human: %s', (patch, expected) => {
    const why = needsHumanBecause(rotation(patch));
    if (expected === undefined) expect(why).toBeUndefined();
    else expect(why).toContain(expected);
  });
});

describe('the dashboard page', () => {
  const get = (path: string, params: Record<string, string>) => handleDashboardPage(new HttpRequest({ method: 'GET', url: `https://func-rotor.azurewebsites.net${path}`, params }));

  it('serves the page under the API prefix, telling it where the API is, with a strict content security policy', () => {
    const page = get('/api/dashboard', { path: '' });

    expect(page.status).toBe(200);
    expect(page.headers).toMatchObject({ 'content-type': 'text/html; charset=utf-8', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
    expect((page.headers as Record<string, string>)['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<meta name="rotor-api" content="/api">');
    expect(page.body).toContain('<script type="module" src="/api/dashboard/dashboard.js">');
    expect(page.body).not.toMatch(/<script>|style=/);
  });

  it.each([
    ['/api/dashboard/dashboard.js', 'dashboard.js', 'text/javascript; charset=utf-8'],
    ['/api/dashboard/dashboard.css', 'dashboard.css', 'text/css; charset=utf-8'],
    ['/rotor/dashboard/', '', 'text/html; charset=utf-8'],
  ])('serves %s', (path, file, type) => {
    const answer = get(path, { path: file });

    expect(answer.status).toBe(200);
    expect((answer.headers as Record<string, string>)['content-type']).toBe(type);
    if (file === '') expect(answer.body).toContain('content="/rotor"');
  });

  it.each(['../package.json', 'local.settings.json', 'dashboard.ts'])('answers 404 problem+json for %s', (file) => {
    const answer = get(`/api/dashboard/${file}`, { path: file });

    expect(answer.status).toBe(404);
    expect((answer.headers as Record<string, string>)['content-type']).toBe('application/problem+json');
  });
});
