import { formatSecretRef } from '../keyvault/secret-ref.js';
import { isTerminal } from '../rotation/model.js';
import { expiringAppCredentials, listAllSecrets } from '../radar/radar.js';
import type { ExpiringAppCredential, RadarGap } from '../radar/model.js';
import type { RadarServices } from '../radar/services.js';
import { dueAt } from '../sweep/due.js';
import type { EntryServices } from '../entry/services.js';
import { needsHumanBecause, presentRotation, type RotationView } from './present.js';

/** The dashboard's window: the expiry timeline covers this far ahead. */
export const TIMELINE_DAYS = 90;
const DAY_MS = 86_400_000;
/** The tag the engine puts on a pending companion secret, naming the secret it belongs to. */
const PENDING_FOR_TAG = 'rotor-pending-for';

export interface DashboardServices {
  readonly entry: EntryServices;
  readonly radar: RadarServices;
}

export interface SecretRow {
  readonly vaultUrl: string;
  readonly name: string;
  readonly managed: boolean;
  /** `valid`, `invalid` (tags wrong) or `none` (unmanaged). */
  readonly policy: 'valid' | 'invalid' | 'none';
  readonly rotator?: string;
  readonly enabled: boolean;
  /** Rotor's pending companion secret of this managed secret (`<name>-rotor-pending`), not an operator's secret. */
  readonly companionOf?: string;
  readonly expiresOn?: string;
  readonly nextDue?: string;
  readonly active?: RotationView;
  readonly last?: { readonly id: string; readonly status: string; readonly createdAt: string; readonly endedAt?: string; readonly reason?: string };
}

export interface Overview {
  readonly asOf: string;
  readonly timelineDays: number;
  readonly secrets: readonly SecretRow[];
  /** App registration credentials expiring within the timeline (and expired ones). */
  readonly applications: readonly ExpiringAppCredential[];
  readonly live: readonly RotationView[];
  readonly needsHuman: readonly (RotationView & { readonly why: string })[];
  readonly gaps: readonly RadarGap[];
}

/** Runs `work` over `items`, `limit` at a time: the ledger answers in parallel, the vault paces itself. */
async function eachLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Everything the dashboard page shows at once: every secret of the allowed
 * vaults (managed or not) with its expiry, next due rotation and active or
 * last rotation; app registration credentials expiring within 90 days;
 * rotations running now and what each waits for; and the ended rotations
 * that need a human (the latest rotation of a secret rolled back or failed
 * after verify). References and states only, never a value.
 */
export async function buildOverview(services: DashboardServices, now: Date): Promise<Overview> {
  const { entry, radar } = services;
  const listed = await listAllSecrets(radar.sources);
  const gaps: RadarGap[] = [...listed.gaps];

  const rows = await eachLimited(listed.secrets, 8, async ({ info, reading }): Promise<{ row: SecretRow; human?: RotationView & { why: string } }> => {
    const managed = reading.kind !== 'unmanaged';
    const rotator = reading.kind === 'valid' ? reading.policy.rotator : reading.kind === 'invalid' ? reading.rotator : undefined;
    const due = managed ? dueAt(info, reading, entry.expiryHorizonMs) : undefined;
    const base = {
      vaultUrl: info.secret.vaultUrl,
      name: info.secret.name,
      managed,
      policy: reading.kind === 'valid' ? ('valid' as const) : reading.kind === 'invalid' ? ('invalid' as const) : ('none' as const),
      ...(rotator === undefined ? {} : { rotator }),
      enabled: info.enabled,
      ...(info.tags[PENDING_FOR_TAG] === undefined ? {} : { companionOf: info.tags[PENDING_FOR_TAG].slice(0, 127) }),
      ...(info.expiresOn === undefined ? {} : { expiresOn: info.expiresOn.toISOString() }),
      ...(due === undefined ? {} : { nextDue: due.toISOString() }),
    };
    if (!managed) return { row: base };
    try {
      const [activeId, history] = await Promise.all([entry.ledger.activeRotation(info.secret), entry.ledger.listRotations(info.secret, { limit: 1 })]);
      const last = history.items[0];
      const active = activeId === undefined ? undefined : (await entry.ledger.getRotation(activeId))?.value;
      let human: (RotationView & { why: string }) | undefined;
      if (last !== undefined && (last.status === 'RolledBack' || last.status === 'Failed')) {
        const record = (await entry.ledger.getRotation(last.id))?.value;
        const why = record === undefined ? undefined : needsHumanBecause(record);
        if (record !== undefined && why !== undefined) human = { ...presentRotation(record, now), why };
      }
      const row: SecretRow = {
        ...base,
        ...(active === undefined || isTerminal(active.status) ? {} : { active: presentRotation(active, now) }),
        ...(last === undefined
          ? {}
          : { last: { id: last.id, status: last.status, createdAt: last.createdAt, ...(last.endedAt === undefined ? {} : { endedAt: last.endedAt }), ...(last.reason === undefined ? {} : { reason: last.reason }) } }),
      };
      return human === undefined ? { row } : { row, human };
    } catch (error) {
      gaps.push({ source: formatSecretRef(info.secret), detail: `could not read its rotations: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown error'}` });
      return { row: base };
    }
  });

  // App registrations the radar watches, over the timeline's window, from the same listing.
  const credentials = await expiringAppCredentials(radar.sources, listed.secrets, { now, withinMs: TIMELINE_DAYS * DAY_MS });
  gaps.push(...credentials.gaps);
  const secrets = rows.map((r) => r.row);
  return {
    asOf: now.toISOString(),
    timelineDays: TIMELINE_DAYS,
    secrets,
    applications: [...credentials.items].sort((a, b) => Date.parse(a.expiresOn) - Date.parse(b.expiresOn)),
    live: secrets.flatMap((s) => (s.active === undefined ? [] : [s.active])),
    needsHuman: rows.flatMap((r) => (r.human === undefined ? [] : [r.human])).sort((a, b) => (b.endedAt ?? '').localeCompare(a.endedAt ?? '')),
    gaps,
  };
}
