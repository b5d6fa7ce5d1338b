import type { Logger } from '../observability/logger.js';
import type { Clock } from '../rotation/ports.js';
import { durations } from '../time/iso-duration.js';
import type { ExpiringItem, RadarGap } from './model.js';
import type { ExpiryWarningPublisher } from './publisher.js';
import { scanExpiring, type RadarSources } from './radar.js';
import type { WarningRecord } from './warning-record.js';
import type { SweepListing } from '../sweep/sweep.js';

/**
 * Expiry warnings, sent by the sweep. Key Vault's own `SecretNearExpiry`
 * fires once, 30 days ahead, and app registrations have no event at all;
 * operators want a warning at each of several thresholds
 * (`ROTOR_EXPIRY_WARNINGS`), once per object, version and threshold, however
 * many instances sweep and however often.
 *
 * At each sweep an item gets the tightest threshold it has crossed: one first
 * seen 5 days before expiry gets the 7-day warning, not three at once; an
 * item already expired gets the tightest one. A new version (a rotation, a
 * new client secret) is a new object version and is warned about afresh.
 */
export interface ExpiryWarningDeps {
  readonly sources: RadarSources;
  readonly record: WarningRecord;
  readonly publisher: ExpiryWarningPublisher;
  /** Thresholds in milliseconds, any order. */
  readonly thresholdsMs: readonly number[];
  readonly clock: Clock;
  readonly log: Logger;
}

export interface ExpiryWarningReport {
  /** `<objectKey>/<version>/<threshold>` of each warning sent in this run. */
  readonly sent: readonly string[];
  readonly gaps: readonly RadarGap[];
  /** Warnings that could not be sent or recorded; tried again next sweep. */
  readonly failed: number;
}

/** A threshold as operators write it: `P7D`, `PT12H`, `PT30M`. */
export function formatThreshold(ms: number): string {
  if (ms % durations.DAY === 0) return `P${ms / durations.DAY}D`;
  if (ms % durations.HOUR === 0) return `PT${ms / durations.HOUR}H`;
  if (ms % durations.MINUTE === 0) return `PT${ms / durations.MINUTE}M`;
  return `PT${ms / durations.SECOND}S`;
}

/** The tightest threshold `item` has crossed at `nowMs`, or `undefined` when it is outside every one. */
export function crossedThreshold(item: ExpiringItem, nowMs: number, thresholdsMs: readonly number[]): number | undefined {
  const remaining = Date.parse(item.expiresOn) - nowMs;
  let tightest: number | undefined;
  for (const t of thresholdsMs) if (remaining <= t && (tightest === undefined || t < tightest)) tightest = t;
  return tightest;
}

/** Scans (the sweep's `listed` vaults, when given) and warns; never throws (the sweep must go on): a failure is logged and reported. */
export async function sendExpiryWarnings(deps: ExpiryWarningDeps, listed?: SweepListing): Promise<ExpiryWarningReport> {
  const sent: string[] = [];
  let failed = 0;
  if (deps.thresholdsMs.length === 0) return { sent, gaps: [], failed };
  const now = deps.clock.now();
  try {
    const scan = await scanExpiring(deps.sources, { now, withinMs: Math.max(...deps.thresholdsMs) }, listed);
    // Each item's warning is claimed and sent on its own, side by side.
    await Promise.all(scan.items.map(async (item) => {
      const thresholdMs = crossedThreshold(item, now.getTime(), deps.thresholdsMs);
      if (thresholdMs === undefined) return;
      const key = { objectKey: item.objectKey, version: item.version, thresholdMs };
      const threshold = formatThreshold(thresholdMs);
      try {
        if (!(await deps.record.claim(key, now))) return;
        const published = await deps.publisher.publish({ item, threshold, thresholdSeconds: thresholdMs / 1000 });
        if (published) {
          sent.push(`${item.objectKey}/${item.version}/${threshold}`);
          deps.log.info('expiry warning sent', { objectKey: item.objectKey, version: item.version, threshold, expiresOn: item.expiresOn });
        } else {
          failed += 1;
          await deps.record.release(key);
        }
      } catch (error) {
        failed += 1;
        deps.log.warn('expiry warning not recorded; the next sweep tries again', { objectKey: item.objectKey, threshold, error });
      }
    }));
    return { sent, gaps: scan.gaps, failed };
  } catch (error) {
    deps.log.error('expiry warnings could not run', { error });
    return { sent, gaps: [{ source: 'radar', detail: error instanceof Error ? error.message.slice(0, 300) : 'unknown error' }], failed: failed + 1 };
  }
}
