/**
 * `npm run bench`: runs every `bench/*.bench.ts` module's default export in
 * turn, or only those named on the command line (`npm run bench -- keyvault`).
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();

if (files.length === 0) {
  console.log(wanted.length === 0 ? 'No benchmarks yet.' : `No benchmark matches ${wanted.join(', ')}.`);
}
for (const file of files) {
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as { default: () => Promise<void> };
  console.log(`\n== ${file}`);
  await mod.default();
}

// Whatever a benchmark left open after stopping its stack is named, then the process ends, so that
// `node --cpu-prof` writes its profile and a run under `timeout` is not counted as hung.
const timer = setTimeout(() => {
  const left = process.getActiveResourcesInfo().filter((kind) => kind !== 'Timeout');
  if (left.length > 0) console.log(`(still open after the benchmarks: ${left.join(', ')})`);
  process.exit(process.exitCode ?? 0);
}, 2_000);
timer.unref();
