/**
 * Key Vault emulator: start-up time (certificate cached and first start with
 * generation) and 1,000 set+get pairs through the real `SecretClient`.
 * Throttling is off for the pairs: Key Vault's own 300 creates per 10 s would
 * otherwise be what is measured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmulatorSecretClient, startKeyVaultEmulator } from '../emulators/keyvault/index.js';

const PAIRS = 1_000;

async function timeStart(certDir: string): Promise<number> {
  const t0 = performance.now();
  const kv = await startKeyVaultEmulator({ certDir });
  const elapsed = performance.now() - t0;
  await kv.stop();
  return elapsed;
}

export default async function keyVaultBench(): Promise<void> {
  const certDir = mkdtempSync(join(tmpdir(), 'kv-bench-tls-'));
  try {
    const cold = await timeStart(certDir);
    const warm: number[] = [];
    for (let i = 0; i < 10; i += 1) warm.push(await timeStart(certDir));
    warm.sort((a, b) => a - b);
    console.log(`startup, first start (generates CA + server cert): ${cold.toFixed(1)} ms`);
    console.log(`startup, cached certificate: median ${warm[5]!.toFixed(1)} ms, max ${warm.at(-1)!.toFixed(1)} ms (10 starts)`);

    const kv = await startKeyVaultEmulator({ certDir, throttle: false, expiryCheckIntervalMs: 0 });
    try {
      const client = createEmulatorSecretClient(kv);
      await client.setSecret('warm-up', 'v');
      const t0 = performance.now();
      for (let i = 0; i < PAIRS; i += 1) {
        await client.setSecret(`bench-${i % 50}`, `value-${i}`);
        await client.getSecret(`bench-${i % 50}`);
      }
      const sequentialMs = performance.now() - t0;
      console.log(
        `${PAIRS} set+get pairs, sequential, https: ${sequentialMs.toFixed(0)} ms total, ` +
          `${((PAIRS * 2) / (sequentialMs / 1000)).toFixed(0)} ops/s, ${(sequentialMs / PAIRS).toFixed(2)} ms per pair`,
      );

      const workers = 16;
      const t1 = performance.now();
      await Promise.all(
        Array.from({ length: workers }, async (_, w) => {
          for (let i = w; i < PAIRS; i += workers) {
            await client.setSecret(`par-${i % 50}`, `value-${i}`);
            await client.getSecret(`par-${i % 50}`);
          }
        }),
      );
      const parallelMs = performance.now() - t1;
      console.log(
        `${PAIRS} set+get pairs, ${workers} concurrent, https: ${parallelMs.toFixed(0)} ms total, ` +
          `${((PAIRS * 2) / (parallelMs / 1000)).toFixed(0)} ops/s`,
      );
      const counts = kv.admin.counters();
      console.log(`vault calls counted: set ${counts.operations.set.calls}, get ${counts.operations.get.calls}, challenges ${counts.challenges}`);
    } finally {
      await kv.stop();
    }
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
}
