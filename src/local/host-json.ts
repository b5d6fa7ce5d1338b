import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * The Service Bus trigger settings of `host.json`, read by the local host so
 * that local session workers behave as Azure's do with the same file: as many
 * sessions at once, the same idle timeout.
 */
export interface ServiceBusHostSettings {
  readonly maxConcurrentSessions: number;
  readonly maxConcurrentCalls: number;
  readonly sessionIdleTimeoutMs: number;
  readonly maxAutoLockRenewalDurationMs: number;
}

/** The extension's defaults (Microsoft.Azure.WebJobs.Extensions.ServiceBus 5.x, one core); idle unset means the client's 60-s try timeout. */
export const serviceBusExtensionDefaults: ServiceBusHostSettings = {
  maxConcurrentSessions: 8,
  maxConcurrentCalls: 16,
  sessionIdleTimeoutMs: 60_000,
  maxAutoLockRenewalDurationMs: 300_000,
};

/** .NET `TimeSpan` as host.json writes it: `[d.]hh:mm:ss[.fffffff]`. */
export function parseTimeSpanMs(text: string): number | undefined {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(text.trim());
  if (match === null) return undefined;
  const [, days = '0', hours = '0', minutes = '0', seconds = '0', fraction = ''] = match;
  const ms = Number(`0.${fraction || '0'}`) * 1_000;
  return ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1_000 + Math.round(ms);
}

const timeSpan = z.string().transform((text, ctx) => {
  const ms = parseTimeSpanMs(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `is not a TimeSpan (hh:mm:ss[.fffffff]): ${text.slice(0, 40)}` });
    return z.NEVER;
  }
  return ms;
});

const hostJsonSchema = z.object({
  extensions: z
    .object({
      serviceBus: z
        .object({
          maxConcurrentSessions: z.number().int().min(1).optional(),
          maxConcurrentCalls: z.number().int().min(1).optional(),
          sessionIdleTimeout: timeSpan.optional(),
          maxAutoLockRenewalDuration: timeSpan.optional(),
        })
        .optional(),
    })
    .optional(),
});

export function serviceBusSettingsOf(hostJson: unknown): ServiceBusHostSettings {
  const parsed = hostJsonSchema.safeParse(hostJson);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`host.json: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}`.trim());
  }
  const sb = parsed.data.extensions?.serviceBus ?? {};
  return {
    maxConcurrentSessions: sb.maxConcurrentSessions ?? serviceBusExtensionDefaults.maxConcurrentSessions,
    maxConcurrentCalls: sb.maxConcurrentCalls ?? serviceBusExtensionDefaults.maxConcurrentCalls,
    sessionIdleTimeoutMs: sb.sessionIdleTimeout ?? serviceBusExtensionDefaults.sessionIdleTimeoutMs,
    maxAutoLockRenewalDurationMs: sb.maxAutoLockRenewalDuration ?? serviceBusExtensionDefaults.maxAutoLockRenewalDurationMs,
  };
}

/** The project's `host.json`: the nearest one above this module (source under tsx, or `dist/` once built). */
export function findHostJson(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'host.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`No host.json above ${from}`);
  }
}

export function readServiceBusHostSettings(path: string = findHostJson()): ServiceBusHostSettings {
  return serviceBusSettingsOf(JSON.parse(readFileSync(path, 'utf8')) as unknown);
}
