import type { SecretClient } from '@azure/keyvault-secrets';
import { SecretValue } from '../../secrecy/secret-value.js';

/**
 * A consumer as applications are usually written: it reads its credential
 * from Key Vault, keeps it for a TTL (5 minutes is the common pattern;
 * seconds locally), and uses it on every request. It does not re-read the
 * vault when a request fails: a rotation must never need that. Counts every
 * request; a failure is kept as a short reason (status or code), never the
 * value or a message that could quote it.
 */

export interface ConsumerCounts {
  readonly ok: number;
  readonly failed: number;
  /** Key Vault versions this consumer has used. */
  readonly versions: number;
  readonly lastFailure?: string;
}

export interface CachedSecret {
  /** The cached value, read again once the TTL has passed. */
  get(): Promise<{ readonly value: SecretValue; readonly version: string }>;
  /** The latest value, bypassing the cache (health checks). */
  fresh(): Promise<{ readonly value: SecretValue; readonly version: string }>;
  readonly versionsSeen: ReadonlySet<string>;
}

export function cachedSecret(client: SecretClient, name: string, ttlMs: number): CachedSecret {
  let cached: { value: SecretValue; version: string; readAt: number } | undefined;
  const versionsSeen = new Set<string>();
  const read = async (): Promise<{ value: SecretValue; version: string }> => {
    const secret = await client.getSecret(name);
    const version = secret.properties.version ?? '';
    return { value: SecretValue.from(secret.value ?? ''), version };
  };
  return {
    async get() {
      if (cached === undefined || Date.now() - cached.readAt >= ttlMs) {
        const fresh = await read();
        cached = { ...fresh, readAt: Date.now() };
        versionsSeen.add(fresh.version);
      }
      return cached;
    },
    fresh: read,
    versionsSeen,
  };
}

/** A failure as a consumer's dashboard would show it: status, code or error name only. */
export function describeFailure(error: unknown): string {
  const e = error as { statusCode?: unknown; status?: unknown; code?: unknown; name?: unknown };
  const parts = [e.statusCode ?? e.status, e.code, e.name].filter((p) => typeof p === 'string' || typeof p === 'number');
  return parts.length > 0 ? parts.join(' ') : 'error';
}

export interface Counter {
  readonly counts: () => ConsumerCounts;
  ok(): void;
  failed(error: unknown): void;
}

export function createCounter(versions: () => number): Counter {
  let ok = 0;
  let failed = 0;
  let lastFailure: string | undefined;
  return {
    counts: () => ({ ok, failed, versions: versions(), ...(lastFailure === undefined ? {} : { lastFailure }) }),
    ok: () => {
      ok += 1;
    },
    failed: (error) => {
      failed += 1;
      lastFailure = describeFailure(error);
    },
  };
}

/**
 * Runs `tick` every `intervalMs` until stopped, one at a time (a slow request
 * delays the next rather than piling up).
 */
export function every(intervalMs: number, tick: () => Promise<void>): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const loop = (): void => {
    if (stopped) return;
    running = tick().catch(() => undefined);
    void running.then(() => {
      if (!stopped) timer = setTimeout(loop, intervalMs);
    });
  };
  timer = setTimeout(loop, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
