import type { HealthProbe, HealthResult } from '../rotation/ports.js';

export interface HttpHealthProbeOptions {
  /** Per request. Default 5 s. */
  readonly timeoutMs?: number;
  /** A target is healthy after this many passes in a row (one flaky 200 proves little). Default 2. */
  readonly consecutivePasses?: number;
  /** For tests; the global `fetch` by default. */
  readonly fetch?: typeof fetch;
}

/** A URL as it may be shown: origin and path, never the query (it may carry a key such as `?code=`). */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `timed out after ${timeoutMs} ms`;
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return `could not be reached (${typeof cause?.code === 'string' ? cause.code : error instanceof Error ? error.name : 'error'})`;
}

/**
 * Probes consumers over HTTP: a GET per pass, each bounded by the timeout, no
 * redirects followed (a redirect to a login page is not "healthy"). All
 * targets must answer their expected status `consecutivePasses` times in a
 * row. The probes run back to back; waiting between verify attempts is the
 * engine's scheduled retry, never a sleep here.
 */
export function createHttpHealthProbe(options: HttpHealthProbeOptions = {}): HealthProbe {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const passes = options.consecutivePasses ?? 2;
  const doFetch = options.fetch ?? fetch;

  async function probeOnce(url: string, expectStatus: number, signal: AbortSignal | undefined): Promise<string | undefined> {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const response = await doFetch(url, {
        method: 'GET',
        redirect: 'manual',
        headers: { 'user-agent': 'rotor-health-probe' },
        signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
      });
      await response.body?.cancel();
      return response.status === expectStatus ? undefined : `answered ${response.status} (expected ${expectStatus})`;
    } catch (error) {
      return describeFailure(error, timeoutMs);
    }
  }

  return {
    async check(targets, checkOptions): Promise<HealthResult> {
      for (const target of targets) {
        for (let pass = 1; pass <= passes; pass += 1) {
          const failure = await probeOnce(target.url, target.expectStatus, checkOptions?.signal);
          if (failure !== undefined) {
            return { healthy: false, reason: `probe ${displayUrl(target.url)} ${failure}${pass > 1 ? ` on pass ${pass} of ${passes}` : ''}` };
          }
        }
      }
      return { healthy: true };
    },
  };
}
