/**
 * The local stack (`npm start`) as a user meets it: how long it takes to come
 * up, how fast the operator API answers, and how long rotations take end to
 * end through the Functions host, Service Bus, Key Vault and the ledger
 * (grace 0 s, no health probes: the floor of the machinery itself).
 */
import { createEmulatorSecretClient } from '../emulators/keyvault/index.js';
import { loadQuietly } from '../src/local/load-quietly.js';
import { createLogger } from '../src/observability/logger.js';

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

export default async function bench(): Promise<void> {
  const { startLocalStack } = await loadQuietly(() => import('../src/local/stack.js'));
  const startedAt = performance.now();
  const stack = await startLocalStack({ log: createLogger(() => undefined), demo: false, port: 0, timers: 'manual', keyVaultThrottle: false });
  const startMs = performance.now() - startedAt;
  try {
    const client = createEmulatorSecretClient(stack.emulators.keyVault);
    const headers = { 'content-type': 'application/json', 'x-functions-key': stack.host.functionKey };
    const count = 20;
    for (let i = 0; i < count; i += 1) {
      await client.setSecret(`bench-${i}`, `initial-value-${i}-0123456789`, { tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT0S' } });
    }

    // API latency: dry runs read the vault and the ledger but change nothing.
    const dryRuns: number[] = [];
    for (let i = 0; i < 100; i += 1) {
      const t = performance.now();
      const res = await fetch(`${stack.host.apiUrl}/rotations`, { method: 'POST', headers, body: JSON.stringify({ secret: `bench-${i % count}`, dryRun: true }) });
      await res.arrayBuffer();
      dryRuns.push(performance.now() - t);
    }

    // Rotations end to end, all started at once.
    const t0 = performance.now();
    const ids = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const res = await fetch(`${stack.host.apiUrl}/rotations`, { method: 'POST', headers, body: JSON.stringify({ secret: `bench-${i}` }) });
        return ((await res.json()) as { rotationId: string }).rotationId;
      }),
    );
    const durations: number[] = [];
    await Promise.all(
      ids.map(async (id) => {
        for (;;) {
          const res = await fetch(`${stack.host.apiUrl}/rotations/${id}`, { headers });
          const body = (await res.json()) as { status: string; createdAt: string; endedAt?: string };
          if (body.endedAt !== undefined) {
            if (body.status !== 'Completed') throw new Error(`rotation ${id} ended ${body.status}`);
            durations.push(Date.parse(body.endedAt) - Date.parse(body.createdAt));
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }),
    );
    const allMs = performance.now() - t0;

    console.log(`local stack start (emulators, Azurite, host, subscription): ${startMs.toFixed(0)} ms`);
    console.log(`POST /api/rotations dry run, 100 sequential: median ${percentile(dryRuns, 50).toFixed(1)} ms, p95 ${percentile(dryRuns, 95).toFixed(1)} ms`);
    console.log(
      `${count} rotations started at once, end to end: all done in ${allMs.toFixed(0)} ms; per rotation (ledger createdAt→endedAt) median ${percentile(durations, 50)} ms, max ${Math.max(...durations)} ms`,
    );
  } finally {
    await stack.stop();
  }
}
