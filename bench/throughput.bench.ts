/**
 * Issue #18: throughput at Key Vault's ceiling, on the local stack.
 *
 *   ceiling  600 managed secrets in one vault rotated at once, the Key Vault
 *            emulator throttling at the real limits (300 creates, 4,000 other
 *            calls per 10 s): rotations/s ÷ min(30/c, 400/o) from the measured
 *            creates (c) and other calls (o) per rotation; failed; 429s met.
 *   open     the same with the throttle off: rotations/s, p50/p99 per rotation, peak RSS.
 *   intake   10,000 SecretNearExpiry deliveries (30% duplicates, 32 in flight)
 *            to the Event Grid webhook: p50/p99 answer time; one rotation per (secret, version).
 *   growth   sweep and GET /api/secrets at 100, 1,000 and 5,000 secrets: time and vault calls.
 *   batch    one Event Grid delivery of ROTOR_BENCH_BATCH (5,000, Event Grid's largest)
 *            SecretNearExpiry events for distinct secrets: answer time; one rotation per (secret, version).
 *
 * `ROTOR_BENCH_INTAKE=direct` runs intake and batch as before enqueue-first
 * (the intake starts each rotation itself: vault read, ledger, send); default
 * `queued` (one send per event, the checks when the start message is handled).
 *
 * `npm run bench -- throughput`; choose parts and sizes with
 * `ROTOR_BENCH_PARTS=ceiling,open` `ROTOR_BENCH_SECRETS=600` `ROTOR_BENCH_EVENTS=10000`
 * `ROTOR_BENCH_GROWTH=100,1000,5000`. Counts (calls per rotation) do not depend
 * on the machine; times do, so each part prints the load average it ran under.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BlobServiceClient } from '@azure/storage-blob';
import { createEmulatorSecretClient } from '../emulators/keyvault/index.js';
import type { CallCountsSnapshot } from '../emulators/keyvault/counters.js';
import { loadQuietly } from '../src/local/load-quietly.js';
import type { LocalStack } from '../src/local/stack.js';
import { createLogger } from '../src/observability/logger.js';
import { useRotor } from '../src/app/compose.js';
import { Progress } from './progress.js';

const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
const parts = new Set(env('ROTOR_BENCH_PARTS', 'ceiling,open,intake,growth').split(','));
const SECRETS = Number(env('ROTOR_BENCH_SECRETS', '600'));
const EVENTS = Number(env('ROTOR_BENCH_EVENTS', '10000'));
const GROWTH = env('ROTOR_BENCH_GROWTH', '100,1000,5000').split(',').map(Number);
const BATCH = Number(env('ROTOR_BENCH_BATCH', '5000'));
const INTAKE_MODE = env('ROTOR_BENCH_INTAKE', 'queued');
const POLL_AGENT = 'rotor-bench-poll';
/** `all`: read every open record every 2 s, as this bench did before the progress output (it starved Rotor at 600; see bench/README.md). */
const POLL_ALL = env('ROTOR_BENCH_POLL', 'log') === 'all';

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Blob requests to the ledger's Azurite, not counting the bench's own polling. */
function countLedgerRequests(port: string): { count(): number; byKind(): Record<string, number>; stop(): void } {
  let count = 0;
  const kinds: Record<string, number> = {};
  const onStart = (message: unknown): void => {
    const request = (message as { request: ClientRequest }).request;
    const host = String(request.getHeader('host') ?? '');
    if (!host.endsWith(`:${port}`)) return;
    if (String(request.getHeader('user-agent') ?? '').includes(POLL_AGENT)) return;
    count += 1;
    // `/<account>/<container>/<prefix>/…?comp=…` → "PUT audit appendblock", "GET rotations", …
    const [path = '', query = ''] = request.path.split('?');
    const prefix = path.split('/')[3] ?? '';
    const comp = /(?:^|&)comp=([a-z]+)/.exec(query)?.[1];
    const kind = `${request.method} ${prefix}${comp === undefined ? '' : ` ${comp}`}`;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  };
  subscribe('http.client.request.start', onStart);
  return { count: () => count, byKind: () => kinds, stop: () => unsubscribe('http.client.request.start', onStart) };
}

function rssSampler(): { peakMiB(): number; stop(): void } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 200);
  return { peakMiB: () => peak / 2 ** 20, stop: () => clearInterval(timer) };
}

interface VaultCalls {
  readonly creates: number;
  readonly others: number;
  readonly throttled: number;
  readonly byOperation: Record<string, number>;
}

function vaultCalls(snapshot: CallCountsSnapshot): VaultCalls {
  let creates = 0;
  let others = 0;
  let throttled = 0;
  const byOperation: Record<string, number> = {};
  for (const [operation, counts] of Object.entries(snapshot.operations)) {
    const admitted = counts.calls - counts.throttled;
    throttled += counts.throttled;
    if (counts.calls > 0) byOperation[operation] = counts.calls;
    if (operation === 'set' || operation === 'restore') creates += admitted;
    else others += admitted;
  }
  return { creates, others, throttled, byOperation };
}

/**
 * `ROTOR_BENCH_INTAKE_ONLY=1`: no session workers, so nothing runs off the step queue while the
 * intake answers (as when the intake has an instance to itself): the intake's own answer time.
 */
const INTAKE_ONLY = env('ROTOR_BENCH_INTAKE_ONLY', '') === '1';

async function startStack(throttle: boolean, progress?: Progress, sessions?: number): Promise<LocalStack> {
  const { startLocalStack } = await loadQuietly(() => import('../src/local/stack.js'));
  // Throttle off: Rotor's pacing off too (ROTOR_VAULT_BUDGET=off), so the figure is the engine's, not the budget's.
  const stack = await startLocalStack({ log: createLogger(progress?.sink ?? (() => undefined)), demo: false, port: 0, timers: 'manual', keyVaultThrottle: throttle, ...(throttle ? {} : { vaultBudget: 'off' }), ...(sessions === undefined ? {} : { serviceBusHost: { maxConcurrentSessions: sessions } }) });
  if (INTAKE_MODE === 'direct') {
    // As before enqueue-first: the intake runs the whole start on the request path.
    const { enqueueStart: _queued, ...entry } = stack.rotor.entry;
    useRotor({ ...stack.rotor, entry });
  }
  // Seeding is the bench's own work: it runs unthrottled and uncounted.
  stack.emulators.keyVault.admin.throttle.configure(false);
  return stack;
}

async function seed(stack: LocalStack, prefix: string, count: number, tags: Record<string, string>, expiresOn?: Date): Promise<string[]> {
  const client = createEmulatorSecretClient(stack.emulators.keyVault);
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const versions: string[] = new Array<string>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < count; i = next++) {
        const written = await client.setSecret(names[i]!, `initial-value-${i}-0123456789abcdef`, { tags, ...(expiresOn === undefined ? {} : { expiresOn }) });
        versions[i] = written.properties.version ?? '';
      }
    }),
  );
  return versions;
}

function watch(stack: LocalStack, progress: Progress, label: string): void {
  const admin = stack.emulators.keyVault.admin;
  const queue = stack.endpoints().serviceBus.stepQueue;
  progress.start(label, {
    throttled429: () => Object.values(admin.counters().operations).reduce((n, c) => n + c.throttled, 0),
    queue: () => stack.emulators.serviceBus.admin.getCounters(queue),
  });
}

function pollClient(stack: LocalStack): ReturnType<BlobServiceClient['getContainerClient']> {
  return BlobServiceClient.fromConnectionString(stack.azurite.connectionString, { userAgentOptions: { userAgentPrefix: POLL_AGENT } }).getContainerClient(
    stack.endpoints().ledger.container,
  );
}

interface EndedRotation {
  readonly id: string;
  readonly status: string;
  readonly createdAt: string;
  readonly endedAt: string;
  readonly steps?: readonly { readonly outcome: string }[];
}

/**
 * Waits until every rotation has ended: the log says which have (no ledger
 * request to watch), and each of those records is read once. Every minute the
 * records the log has not ended are read too, in case a line was missed.
 */
/** Records the bench itself read while waiting (its own load on the ledger's Azurite, in Rotor's process). */
let pollReads = 0;

async function waitForEnd(stack: LocalStack, ids: readonly string[], limitMs: number, progress: Progress): Promise<EndedRotation[]> {
  const container = pollClient(stack);
  const ended = new Map<string, EndedRotation>();
  const deadline = Date.now() + limitMs;
  let fullAt = Date.now() + 60_000;
  const read = async (open: readonly string[]): Promise<void> => {
    pollReads += open.length;
    let cursor = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = cursor++; i < open.length; i = cursor++) {
          const id = open[i]!;
          try {
            const body = JSON.parse((await container.getBlockBlobClient(`rotations/${id}.json`).downloadToBuffer()).toString('utf8')) as Partial<EndedRotation>;
            if (body.endedAt !== undefined) ended.set(id, body as EndedRotation);
          } catch {
            // not there yet
          }
        }
      }),
    );
  };
  while (ended.size < ids.length && Date.now() < deadline) {
    const logged = progress.ended();
    const full = Date.now() >= fullAt;
    if (full) fullAt = Date.now() + 60_000;
    await read(ids.filter((id) => !ended.has(id) && (POLL_ALL || full || logged.has(id))));
    if (ended.size < ids.length) await sleep(2_000);
  }
  return [...ended.values()];
}

/** A few rotations that did not end: where their records stand (ids, steps and outcomes only). */
async function describeStuck(stack: LocalStack, open: readonly string[]): Promise<void> {
  if (open.length === 0) return;
  const container = pollClient(stack);
  for (const id of open.slice(0, 5)) {
    try {
      const body = JSON.parse((await container.getBlockBlobClient(`rotations/${id}.json`).downloadToBuffer()).toString('utf8')) as Record<string, unknown>;
      const steps = (body['steps'] as { step?: string; outcome?: string; attempt?: number; at?: string; endedAt?: string }[] | undefined) ?? [];
      console.log(
        `[stuck] ${id}: status ${String(body['status'])} step ${String(body['step'])} attempt ${String(body['attempt'])} notBefore ${String(body['notBefore'])} deadline ${String(body['deadline'])} updatedAt ${String(body['updatedAt'])}; steps ${JSON.stringify(steps.map((st) => `${st.step}:${st.outcome}#${st.attempt}`))}`,
      );
    } catch (error) {
      console.log(`[stuck] ${id}: no record (${error instanceof Error ? error.name : 'error'})`);
    }
  }
}

async function startAll(stack: LocalStack, names: readonly string[], inFlight: number): Promise<string[]> {
  const headers = { 'content-type': 'application/json', 'x-functions-key': stack.host.functionKey };
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < names.length; i = next++) {
        let res = await fetch(`${stack.host.apiUrl}/rotations`, { method: 'POST', headers, body: JSON.stringify({ secret: names[i] }) });
        // A client retries a 503 after its Retry-After (a start Key Vault or the budget put off, or a slow dependency).
        for (let retry = 0; res.status === 503 && retry < 20; retry += 1) {
          await res.body?.cancel();
          await sleep(1_000 * Number(res.headers.get('retry-after') ?? '1'));
          res = await fetch(`${stack.host.apiUrl}/rotations`, { method: 'POST', headers, body: JSON.stringify({ secret: names[i] }) });
        }
        const body = (await res.json()) as { rotationId?: string; activeRotationId?: string };
        // 409 after a retried 503: the first try's start went on after its answer timed out.
        const id = res.status === 202 ? body.rotationId : res.status === 409 ? body.activeRotationId : undefined;
        if (id === undefined) throw new Error(`start ${names[i]}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
        ids.push(id);
      }
    }),
  );
  return ids;
}

async function rotateAtOnce(throttle: boolean): Promise<void> {
  const label = throttle ? 'ceiling' : 'open';
  const progress = new Progress();
  const stack = await startStack(throttle, progress);
  try {
    const names = (await seed(stack, 'bench', SECRETS, { 'rotor-rotator': 'random', 'rotor-grace': 'PT1S' })).map((_, i) => `bench-${i}`);
    const admin = stack.emulators.keyVault.admin;
    if (throttle) admin.throttle.configure({});
    admin.resetCounters();
    const ledger = countLedgerRequests(new URL(stack.azurite.blobEndpoint).port);
    const rss = rssSampler();
    const loadBefore = load();
    const t0 = Date.now();
    watch(stack, progress, label);
    // ROTOR_BENCH_DROP=20,40: cut every Service Bus connection at those seconds (as the emulator's
    // "detach received on invalid channel" errors do under load), to see whether Rotor recovers.
    const drops = env('ROTOR_BENCH_DROP', '').split(',').filter((x) => x !== '').map((x) => setTimeout(() => console.log(`[${label}] dropped ${stack.emulators.serviceBus.admin.dropConnections()} Service Bus connection(s)`), Number(x) * 1_000));
    const ids = await startAll(stack, names, 32);
    console.log(`[${label}] all ${ids.length} started after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const ended = await waitForEnd(stack, ids, Number(env('ROTOR_BENCH_LIMIT_S', '1800')) * 1_000, progress);
    progress.stop();
    drops.forEach((d) => clearTimeout(d));
    progress.print(label);
    console.log(`[${label}] steps run by outcome ${JSON.stringify(progress.outcomeCounts())}`);
    console.log(`[${label}] first error under each warning ${JSON.stringify(progress.warningExamples())}`);
    await describeStuck(stack, ids.filter((id) => !ended.some((r) => r.id === id)));
    const wallMs = Date.now() - t0;
    const ledgerRequests = ledger.count();
    const ledgerKinds = ledger.byKind();
    console.log(`[${label}] the bench read ${pollReads} records while waiting (${POLL_ALL ? 'every open record every 2 s' : 'those the log says ended, the rest once a minute'}); Rotor made ${ledgerRequests} ledger requests`);
    pollReads = 0;
    ledger.stop();
    rss.stop();
    const calls = vaultCalls(admin.counters());
    const completed = ended.filter((r) => r.status === 'Completed');
    const first = Math.min(...ended.map((r) => Date.parse(r.createdAt)));
    const last = Math.max(...ended.map((r) => Date.parse(r.endedAt)));
    const perSecond = (ended.length / (last - first)) * 1_000;
    const durations = ended.map((r) => Date.parse(r.endedAt) - Date.parse(r.createdAt));
    const c = calls.creates / ids.length;
    const o = calls.others / ids.length;
    const ceiling = Math.min(30 / c, 400 / o);
    console.log(`[${label}] ${ids.length} random rotations at once, throttle ${throttle ? 'at real limits' : 'off'}; load average before ${loadBefore}, after ${load()}`);
    console.log(
      `[${label}] ended ${ended.length}, completed ${completed.length}, failed/other ${ended.length - completed.length}, not ended ${ids.length - ended.length}; wall ${(wallMs / 1000).toFixed(1)} s (first start → last end ${((last - first) / 1000).toFixed(1)} s)`,
    );
    console.log(
      `[${label}] ${perSecond.toFixed(2)} rotations/s; per rotation c = ${c.toFixed(2)} creates, o = ${o.toFixed(2)} other vault calls (${JSON.stringify(calls.byOperation)}), ${(ledgerRequests / ids.length).toFixed(1)} ledger requests; 429s met ${calls.throttled}`,
    );
    if (throttle) console.log(`[${label}] ceiling min(30/c, 400/o) = ${ceiling.toFixed(2)} rotations/s; ratio ${(perSecond / ceiling).toFixed(2)} (goal ≥ 0.9)`);
    const perRotation = Object.fromEntries(Object.entries(ledgerKinds).map(([k, n]) => [k, Number((n / ids.length).toFixed(2))]));
    const throttledSteps = ended.reduce((n, r) => n + (r.steps ?? []).filter((st) => st.outcome === 'throttled').length, 0);
    console.log(`[${label}] ledger requests per rotation by kind ${JSON.stringify(perRotation)}; steps put off by the budget or a 429 (throttled) ${throttledSteps}`);
    console.log(
      `[${label}] per rotation createdAt→endedAt p50 ${(percentile(durations, 50) / 1000).toFixed(1)} s, p99 ${(percentile(durations, 99) / 1000).toFixed(1)} s; peak RSS ${rss.peakMiB().toFixed(0)} MiB`,
    );
  } finally {
    progress.stop();
    const t = Date.now();
    await stack.stop();
    console.log(`[${label}] stack stopped in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
}

function nearExpiryEvent(vaultUrl: string, vaultName: string, name: string, version: string, eventId: string): unknown {
  return {
    id: eventId,
    topic: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/${vaultName}`,
    subject: name,
    eventType: 'Microsoft.KeyVault.SecretNearExpiry',
    eventTime: new Date().toISOString(),
    data: { Id: `${vaultUrl}/secrets/${name}/${version}`, VaultName: vaultName, ObjectType: 'Secret', ObjectName: name, Version: version, NBF: null, EXP: Math.floor(Date.now() / 1000) + 86_400 },
    dataVersion: '1',
    metadataVersion: '1',
  };
}

async function intake(): Promise<void> {
  const stack = await startStack(false, undefined, INTAKE_ONLY ? 0 : undefined);
  try {
    const distinct = Math.round(EVENTS * 0.7);
    const versions = await seed(stack, 'intake', distinct, { 'rotor-rotator': 'random', 'rotor-grace': 'PT1S' });
    const vaultUrl = new URL(stack.emulators.keyVault.url).origin;
    const vaultName = stack.emulators.keyVault.vaultName;
    // 70% first deliveries, 30% repeats of a delivery already made or about to be, shuffled.
    const order = Array.from({ length: EVENTS }, (_, i) => (i < distinct ? i : Math.floor(Math.random() * distinct)));
    for (let i = order.length - 1; i > 0; i -= 1) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    stack.emulators.keyVault.admin.resetCounters();
    const ledger = countLedgerRequests(new URL(stack.azurite.blobEndpoint).port);
    const webhook = stack.host.eventGridWebhookUrl('keyVaultEvents');
    const latencies: number[] = [];
    const failures: string[] = [];
    const loadBefore = load();
    // How late the one thread (Rotor, the emulators, Azurite, this client) gets back to waiting work.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < order.length; i = next++) {
          const k = order[i]!;
          const body = JSON.stringify([nearExpiryEvent(vaultUrl, vaultName, `intake-${k}`, versions[k]!, `event-${k}`)]);
          const t = performance.now();
          const res = await fetch(webhook, { method: 'POST', headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' }, body });
          await res.arrayBuffer();
          latencies.push(performance.now() - t);
          if (res.status >= 300) failures.push(String(res.status));
        }
      }),
    );
    const wallMs = Date.now() - t0;
    loopDelay.disable();
    const ledgerRequests = ledger.count();
    ledger.stop();
    const calls = vaultCalls(stack.emulators.keyVault.admin.counters());
    console.log(
      `[intake] event-loop delay while answering: p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms${INTAKE_ONLY ? ' (no session workers: nothing ran off the queue)' : ''}`,
    );
    console.log(`[intake ${INTAKE_MODE}${INTAKE_ONLY ? ', intake only' : ''}] ${EVENTS} deliveries (${distinct} distinct, 32 in flight); load average before ${loadBefore}, after ${load()}`);
    console.log(
      `[intake] answered in ${(wallMs / 1000).toFixed(1)} s (${((EVENTS / wallMs) * 1000).toFixed(0)} events/s); p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms; non-2xx ${failures.length}`,
    );
    console.log(`[intake] during the intake (rotations running too): vault calls ${JSON.stringify(calls.byOperation)}, ledger requests ${ledgerRequests}`);

    if (INTAKE_ONLY) {
      const depth = stack.emulators.serviceBus.admin.getCounters(stack.endpoints().serviceBus.stepQueue);
      console.log(`[intake] start messages waiting in the step queue: ${depth.active} (one per distinct (secret, version): ${distinct}); the one-rotation check needs workers, run without ROTOR_BENCH_INTAKE_ONLY`);
      return;
    }
    // One rotation per (secret, version): each secret here has one version, so one index entry per secret.
    const container = pollClient(stack);
    const deadline = Date.now() + 10 * 60_000;
    let perSecret = new Map<string, number>();
    for (;;) {
      perSecret = new Map();
      for await (const blob of container.listBlobsFlat({ prefix: 'index/' })) {
        const secret = blob.name.split('/').slice(1, -1).join('/');
        perSecret.set(secret, (perSecret.get(secret) ?? 0) + 1);
      }
      if (perSecret.size >= distinct || Date.now() > deadline) break;
      await sleep(2_000);
    }
    const counts = [...perSecret.values()];
    console.log(
      `[intake] rotations recorded for ${perSecret.size} of ${distinct} (secret, version) pairs; pairs with more than one: ${counts.filter((n) => n > 1).length}; check ${perSecret.size === distinct && counts.every((n) => n === 1) ? 'OK' : 'FAILED'} (${((Date.now() - t0) / 1000).toFixed(1)} s after the first delivery)`,
    );
  } finally {
    const t = Date.now();
    await stack.stop();
    console.log(`[intake] stack stopped in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
}

async function growth(): Promise<void> {
  const stack = await startStack(false);
  try {
    const headers = { 'x-functions-key': stack.host.functionKey };
    const admin = stack.emulators.keyVault.admin;
    let seeded = 0;
    for (const size of GROWTH) {
      // Managed, not due: expiring far beyond the 30-day horizon.
      await seed(stack, `grow${seeded}`, size - seeded, { 'rotor-rotator': 'random' }, new Date(Date.now() + 365 * 86_400_000));
      seeded = size;
      admin.resetCounters();
      let t = performance.now();
      await stack.host.runTimer('sweep');
      const sweepMs = performance.now() - t;
      const sweepCalls = vaultCalls(admin.counters());
      admin.resetCounters();
      t = performance.now();
      let firstPageMs = 0;
      let pages = 0;
      let items = 0;
      let bytes = 0;
      let url: string | undefined = `${stack.host.apiUrl}/secrets`;
      while (url !== undefined) {
        const res = await fetch(url, { headers });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`GET /api/secrets: ${res.status} ${text.slice(0, 200)}`);
        pages += 1;
        if (pages === 1) firstPageMs = performance.now() - t;
        bytes += text.length;
        const body = JSON.parse(text) as { items: unknown[]; nextLink?: string };
        items += body.items.length;
        url = body.nextLink;
      }
      const listMs = performance.now() - t;
      const listCalls = vaultCalls(admin.counters());
      console.log(`[growth ${size}] load average ${load()}`);
      console.log(`[growth ${size}] sweep: ${sweepMs.toFixed(0)} ms, vault calls ${JSON.stringify(sweepCalls.byOperation)}`);
      console.log(
        `[growth ${size}] GET /api/secrets: first page ${firstPageMs.toFixed(0)} ms, all ${pages} page(s) ${listMs.toFixed(0)} ms, ${items} items, ${(bytes / 1024).toFixed(0)} KiB; vault calls ${JSON.stringify(listCalls.byOperation)}`,
      );
    }
  } finally {
    await stack.stop();
  }
}

/** Rotations recorded per secret (index entries), polled until `expected` secrets have one or the bound passes. */
async function recordedPerSecret(stack: LocalStack, prefix: string, expected: number, boundMs: number): Promise<Map<string, number>> {
  const container = pollClient(stack);
  const deadline = Date.now() + boundMs;
  for (;;) {
    const perSecret = new Map<string, number>();
    for await (const blob of container.listBlobsFlat({ prefix: 'index/' })) {
      const secret = blob.name.split('/').slice(1, -1).join('/');
      if (secret.split('/').at(-1)?.startsWith(`${prefix}-`) === true) perSecret.set(secret, (perSecret.get(secret) ?? 0) + 1);
    }
    if (perSecret.size >= expected || Date.now() > deadline) return perSecret;
    await sleep(2_000);
  }
}

async function batch(): Promise<void> {
  const stack = await startStack(false);
  try {
    const versions = await seed(stack, 'batch', BATCH, { 'rotor-rotator': 'random', 'rotor-grace': 'PT1S' });
    const vaultUrl = new URL(stack.emulators.keyVault.url).origin;
    const vaultName = stack.emulators.keyVault.vaultName;
    const body = JSON.stringify(versions.map((version, k) => nearExpiryEvent(vaultUrl, vaultName, `batch-${k}`, version, `batch-event-${k}`)));
    stack.emulators.keyVault.admin.resetCounters();
    const loadBefore = load();
    const t0 = performance.now();
    const res = await fetch(stack.host.eventGridWebhookUrl('keyVaultEvents'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' },
      body,
      signal: AbortSignal.timeout(300_000),
    });
    await res.arrayBuffer();
    const answerMs = performance.now() - t0;
    const atAnswer = vaultCalls(stack.emulators.keyVault.admin.counters());
    console.log(`[batch ${INTAKE_MODE}] one delivery of ${BATCH} events; load average before ${loadBefore}, after ${load()}`);
    console.log(`[batch ${INTAKE_MODE}] answered ${res.status} in ${(answerMs / 1000).toFixed(2)} s (Event Grid gives 30 s); vault calls until the answer ${JSON.stringify(atAnswer.byOperation)}`);
    const perSecret = await recordedPerSecret(stack, 'batch', BATCH, 15 * 60_000);
    const counts = [...perSecret.values()];
    console.log(
      `[batch ${INTAKE_MODE}] rotations recorded for ${perSecret.size} of ${BATCH} (secret, version) pairs, ${((performance.now() - t0) / 1000).toFixed(1)} s after the delivery; pairs with more than one: ${counts.filter((n) => n > 1).length}; check ${perSecret.size === BATCH && counts.every((n) => n === 1) ? 'OK' : 'FAILED'}`,
    );
  } finally {
    await stack.stop();
  }
}

export default async function bench(): Promise<void> {
  if (parts.has('ceiling')) await rotateAtOnce(true);
  if (parts.has('open')) await rotateAtOnce(false);
  if (parts.has('intake')) await intake();
  if (parts.has('growth')) await growth();
  if (parts.has('batch')) await batch();
}
