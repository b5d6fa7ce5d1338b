import { z } from 'zod';
import { apiCaller, startRotation } from './api-call.js';
import type { LocalStack } from '../stack.js';
import { DemoSecret } from './seed.js';

export interface ScenarioResult {
  readonly scenario: string;
  readonly expected: string;
  readonly observed: string;
  readonly ok: boolean;
}

/** What the scenario reads from the API; parsed, because the API is what is being checked. */
const rotationView = z.object({
  id: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  trigger: z.object({ kind: z.string(), version: z.string().optional() }),
});
type RotationView = z.infer<typeof rotationView>;
const historyView = z.object({ items: z.array(rotationView) });

const terminal = new Set(['Completed', 'RolledBack', 'Failed', 'Aborted', 'Skipped']);

/** Drives the demo through the public surfaces only: the HTTP API with its key, and Event Grid. */
export async function runDemoScenario(stack: LocalStack, say: (line: string) => void, timeoutMs = 90_000): Promise<ScenarioResult[]> {
  const { api } = stack.endpoints();
  const call = apiCaller(api);
  const deadline = Date.now() + timeoutMs;
  const until = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    for (;;) {
      const found = await probe();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const history = async (secret: string): Promise<RotationView[]> => historyView.parse((await call(`/secrets/${secret}/rotations?limit=50`)).body).items;
  const ended = (id: string): Promise<RotationView> =>
    until(`rotation ${id} to end`, async () => {
      const rotation = rotationView.parse((await call(`/rotations/${encodeURIComponent(id)}`)).body);
      return terminal.has(rotation.status) ? rotation : undefined;
    });
  const notified = (rotationId: string, type: string): boolean =>
    stack.emulators.eventGrid.admin
      .published({ topic: 'rotor-notifications' })
      .some((r) => (r.event as { type?: string; data?: { rotationId?: string } }).type === type && (r.event as { data?: { rotationId?: string } }).data?.rotationId === rotationId);
  // The notification is published once the record says how the rotation ended: give it time to arrive
  // (a busy machine took longer than 15 s once; the bound is for "never", not a speed check).
  const notifiedSoon = async (rotationId: string, type: string): Promise<boolean> => {
    const until = Date.now() + 60_000;
    while (!notified(rotationId, type)) {
      if (Date.now() > until) return false;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return true;
  };
  const results: ScenarioResult[] = [];

  say(`1. ${DemoSecret.NearExpiry} expires within 30 days: Key Vault's SecretNearExpiry event starts its rotation…`);
  const first = await until('the event-driven rotation to start', async () => (await history(DemoSecret.NearExpiry))[0]);
  const firstEnd = await ended(first.id);
  const firstNotified = await notifiedSoon(first.id, 'Rotor.Rotation.Completed');
  results.push({
    scenario: 'Event-driven rotation',
    expected: 'Completed, notified',
    observed: `${firstEnd.status} (trigger ${first.trigger.kind})${firstNotified ? ', notified' : ''}`,
    ok: firstEnd.status === 'Completed' && first.trigger.kind === 'event' && firstNotified,
  });

  say(`2. An operator rotates ${DemoSecret.Manual} through the API…`);
  const manual = await startRotation(call, { secret: DemoSecret.Manual, reason: 'demo: manual rotation' });
  const manualEnd = manual.rotationId === undefined ? undefined : await ended(manual.rotationId);
  results.push({
    scenario: 'Manual rotation (API)',
    expected: '202, then Completed',
    observed: `${manual.status}${manualEnd === undefined ? '' : `, then ${manualEnd.status}`}`,
    ok: manualEnd?.status === 'Completed',
  });

  say(`3. Rotating ${DemoSecret.RejectsNewValue}, whose consumer rejects any new value…`);
  const rejected = await startRotation(call, { secret: DemoSecret.RejectsNewValue, reason: 'demo: consumer will reject' });
  const rejectedEnd = rejected.rotationId === undefined ? undefined : await ended(rejected.rotationId);
  const healthAfter = stack.consumer === undefined ? 0 : (await fetch(stack.consumer.healthUrl(DemoSecret.RejectsNewValue))).status;
  results.push({
    scenario: 'Rollback (consumer rejects)',
    expected: 'RolledBack, consumer healthy',
    observed: `${rejectedEnd?.status ?? rejected.status}, consumer ${healthAfter === 200 ? 'healthy' : `answers ${healthAfter}`}`,
    ok: rejectedEnd?.status === 'RolledBack' && healthAfter === 200 && (await notifiedSoon(rejectedEnd.id, 'Rotor.Rotation.RolledBack')),
  });

  say(`4. Event Grid delivers the first event again (at-least-once delivery)…`);
  const original = stack.emulators.eventGrid.admin
    .published({ topic: stack.emulators.eventGrid.systemTopicName })
    .map((r) => r.event as { eventType?: string; subject?: string; data?: { Version?: string } })
    .find((ev) => ev.eventType === 'Microsoft.KeyVault.SecretNearExpiry' && ev.subject === DemoSecret.NearExpiry && ev.data?.Version === first.trigger.version);
  const before = (await history(DemoSecret.NearExpiry)).length;
  if (original !== undefined) stack.emulators.eventGrid.publish([original as never]);
  await stack.emulators.eventGrid.admin.waitForIdle();
  const after = (await history(DemoSecret.NearExpiry)).length;
  results.push({
    scenario: 'Duplicate event',
    expected: 'delivered, no new rotation',
    observed: original === undefined ? 'original event not found' : `${after - before} new rotation(s)`,
    ok: original !== undefined && after === before,
  });
  return results;
}
