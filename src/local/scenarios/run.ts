import { z } from 'zod';
import { apiCaller, startRotation } from '../demo/api-call.js';
import type { RunningScenario, ScenarioReport } from './scenarios.js';

/**
 * Rotates every scenario's secrets `rounds` times through the operator API
 * while the consumers run, then lets in-flight events land and reports per
 * scenario. Rotations of one secret follow each other; scenarios rotate side
 * by side. What `npm run demo` prints and test/scenarios asserts.
 */

export interface ScenarioOutcome extends ScenarioReport {
  readonly rotations: readonly { readonly secret: string; readonly status: string; readonly reason?: string }[];
  readonly ok: boolean;
}

const rotationView = z.object({ id: z.string(), status: z.string(), reason: z.string().optional() });
const terminal = new Set(['Completed', 'RolledBack', 'Failed', 'Aborted', 'Skipped']);

export interface RunScenariosOptions {
  readonly api: { readonly baseUrl: string; readonly functionKey: string };
  readonly rounds?: number;
  readonly timeoutMs?: number;
  readonly say?: (line: string) => void;
}

export async function runScenarios(scenarios: readonly RunningScenario[], options: RunScenariosOptions): Promise<ScenarioOutcome[]> {
  const rounds = options.rounds ?? 2;
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  const call = apiCaller(options.api);
  const rotate = async (secret: string, round: number): Promise<{ secret: string; status: string; reason?: string }> => {
    const { status, rotationId } = await startRotation(call, { secret, reason: `scenario round ${round}` }, deadline);
    if (rotationId === undefined) return { secret, status: `not started (${status})` };
    for (;;) {
      const rotation = rotationView.parse((await call(`/rotations/${encodeURIComponent(rotationId)}`)).body);
      if (terminal.has(rotation.status)) return { secret, status: rotation.status, ...(rotation.reason === undefined ? {} : { reason: rotation.reason }) };
      if (Date.now() > deadline) return { secret, status: `still ${rotation.status} at the deadline` };
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  const results = await Promise.all(
    scenarios.map(async (scenario) => {
      const rotations: { secret: string; status: string; reason?: string }[] = [];
      for (let round = 1; round <= rounds; round += 1) {
        for (const secret of scenario.secrets) {
          const outcome = await rotate(secret.name, round);
          options.say?.(`  ${scenario.name}: ${secret.name} (${secret.rotator}) round ${round}: ${outcome.status}${outcome.reason === undefined ? '' : ` (${outcome.reason})`}`);
          rotations.push(outcome);
        }
      }
      return { scenario, rotations };
    }),
  );
  await Promise.all(scenarios.map((s) => s.settle().catch(() => undefined)));
  return results.map(({ scenario, rotations }) => {
    const report = scenario.report();
    const lost = report.events === undefined ? 0 : report.events.published - report.events.received;
    return {
      ...report,
      rotations,
      ok: rotations.every((r) => r.status === 'Completed') && report.requests.failed === 0 && lost === 0 && report.requests.ok > 0,
    };
  });
}

/** One table per scenario: rotations, versions, consumer requests ok / failed, events published / received. */
export function renderScenarioTables(outcomes: readonly ScenarioOutcome[]): string[] {
  const lines: string[] = [];
  for (const o of outcomes) {
    const completed = o.rotations.filter((r) => r.status === 'Completed').length;
    lines.push(`${o.scenario}  ${o.ok ? 'ok' : 'FAILED'}`);
    const rows: [string, string][] = [
      ['secrets', o.secrets.map((s) => `${s.name} (${s.rotator})`).join(', ')],
      ['rotations', `${completed} of ${o.rotations.length} Completed${completed === o.rotations.length ? '' : `: ${o.rotations.filter((r) => r.status !== 'Completed').map((r) => `${r.secret} ${r.status}${r.reason === undefined ? '' : ` (${r.reason})`}`).join('; ')}`}`],
      ['versions used', String(o.requests.versions)],
      ['consumer requests', `${o.requests.ok} ok, ${o.requests.failed} failed${o.requests.lastFailure === undefined ? '' : ` (last: ${o.requests.lastFailure})`}`],
      ...(o.events === undefined ? [] : ([['events', `${o.events.published} published, ${o.events.received} received, ${o.events.published - o.events.received} lost`]] as [string, string][])),
    ];
    for (const [label, value] of rows) lines.push(`  ${label.padEnd(18)}${value}`);
    lines.push('');
  }
  return lines;
}
