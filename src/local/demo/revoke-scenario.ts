import { z } from 'zod';
import { apiCaller, startRotation } from './api-call.js';
import type { LocalStack } from '../stack.js';
import type { RevokeDemoConsumer, RevokeDemoSecret } from './revoke-consumers.js';
import type { ScenarioResult } from './scenario.js';

/**
 * The revoke scenario of `npm run demo` (issue #13): the same alternating
 * PostgreSQL rotation with `rotor-revoke-after`, on two secrets whose
 * consumers (an App Service site and an https app, both holding the login
 * they read) are alike but for one tag. Without `rotor-consumers` Rotor waits
 * the grace, its health probe passes (it reads the latest value), and the
 * revoke locks the consumers out: their requests fail from then on. With
 * `rotor-consumers` Rotor nudges them, waits until each reports the new
 * version, and only then retires and revokes: no consumer request fails.
 */
const rotationView = z.object({
  id: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  adoption: z.object({ consumers: z.array(z.object({ entry: z.string(), state: z.string() })) }).optional(),
});
const terminal = new Set(['Completed', 'RolledBack', 'Failed', 'Aborted', 'Skipped']);

export interface RevokeOutcome {
  readonly secret: RevokeDemoSecret;
  readonly status: string;
  readonly reason?: string;
  /** Consumers' state for Rotor (declared only). */
  readonly adoption: readonly { readonly entry: string; readonly state: string }[];
  /** Requests each consumer made, and how many failed, from the rotation's start to the end of the watch. */
  readonly consumers: readonly { readonly kind: string; readonly name: string; readonly ok: number; readonly failed: number; readonly lastFailure?: string }[];
  readonly failed: number;
}

const sum = (list: readonly { readonly failed: number }[]): number => list.reduce((n, c) => n + c.failed, 0);

export async function runRevokeScenario(stack: LocalStack, say: (line: string) => void, timeoutMs = 180_000): Promise<{ results: ScenarioResult[]; outcomes: RevokeOutcome[] }> {
  const demo = stack.revokeDemo;
  if (demo === undefined) {
    return { results: [{ scenario: 'Revoke, consumers', expected: 'the consumers demo', observed: 'not started (needs demo data and seeded scenarios)', ok: false }], outcomes: [] };
  }
  const { api } = stack.endpoints();
  const call = apiCaller(api);
  const deadline = Date.now() + timeoutMs;
  const waitUntil = async (done: () => boolean, boundMs: number): Promise<void> => {
    const until = Math.min(deadline, Date.now() + boundMs);
    while (!done() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 250));
  };

  const run = async (secret: RevokeDemoSecret): Promise<RevokeOutcome> => {
    const before = new Map(demo.consumers(secret.name).map((c) => [c.name, c.counts]));
    const since = (): { kind: string; name: string; ok: number; failed: number; lastFailure?: string }[] =>
      demo.consumers(secret.name).map((c: RevokeDemoConsumer) => ({
        kind: c.kind,
        name: c.name,
        ok: c.counts.ok - (before.get(c.name)?.ok ?? 0),
        failed: c.counts.failed - (before.get(c.name)?.failed ?? 0),
        ...(c.counts.lastFailure === undefined ? {} : { lastFailure: c.counts.lastFailure }),
      }));
    const { status, rotationId } = await startRotation(call, { secret: secret.name, reason: 'demo: revoke with and without declared consumers' }, deadline);
    if (rotationId === undefined) return { secret, status: `not started (${status})`, adoption: [], consumers: since(), failed: sum(since()) };
    let rotation: z.infer<typeof rotationView>;
    for (;;) {
      rotation = rotationView.parse((await call(`/rotations/${encodeURIComponent(rotationId)}`)).body);
      if (terminal.has(rotation.status) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // Watch the consumers after the revoke: each makes a few more requests (or fails them).
    const atEnd = new Map(since().map((c) => [c.name, c.ok + c.failed]));
    await waitUntil(() => since().every((c) => c.ok + c.failed >= (atEnd.get(c.name) ?? 0) + 8), 30_000);
    const consumers = since();
    return {
      secret,
      status: rotation.status,
      ...(rotation.reason === undefined ? {} : { reason: rotation.reason }),
      adoption: rotation.adoption?.consumers ?? [],
      consumers,
      failed: sum(consumers),
    };
  };

  say('7. Two PostgreSQL logins rotate alike (alternating, rotor-revoke-after PT2S); each is used by an App Service site and an https app that keep the login they read.');
  say('   invoices-db-credential does not declare its consumers; payments-db-credential names them in rotor-consumers…');
  const outcomes = await Promise.all(demo.secrets.map(run));
  const results = outcomes.map((o): ScenarioResult => {
    const requests = o.consumers.map((c) => `${c.kind} ${c.failed}/${c.ok + c.failed}`).join(', ');
    if (!o.secret.declared) {
      return {
        scenario: 'Revoke, consumers undeclared',
        expected: 'Completed; consumers break',
        observed: `${o.status}; ${o.failed} failed requests (${requests})`,
        ok: o.status === 'Completed' && o.consumers.every((c) => c.failed > 0),
      };
    }
    const adopted = o.adoption.length === o.secret.entries.length && o.adoption.every((c) => c.state === 'adopted');
    return {
      scenario: 'Revoke, rotor-consumers',
      expected: 'Completed; 0 failed requests',
      observed: `${o.status}${adopted ? ', both adopted' : ''}; ${o.failed} failed (${requests})`,
      ok: o.status === 'Completed' && adopted && o.failed === 0 && o.consumers.every((c) => c.ok > 0),
    };
  });
  for (const o of outcomes) {
    say(
      o.secret.declared
        ? `   ${o.secret.name}: ${o.status}; Rotor nudged its consumers and waited for them; ${o.failed} consumer requests failed.`
        : `   ${o.secret.name}: ${o.status}, yet its consumers still held the revoked login: ${o.failed} requests failed (last: ${o.consumers.find((c) => c.lastFailure !== undefined)?.lastFailure ?? '-'}).`,
    );
  }
  return { results, outcomes };
}
