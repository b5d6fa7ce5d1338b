import { waitingOutThrottle } from '../keyvault/paced-secret-store.js';
import { formatSecretRef } from '../keyvault/secret-ref.js';
import { isTerminal, TriggerKind, type Rotation } from '../rotation/model.js';
import type { SecretVersionInfo } from '../rotation/ports.js';
import type { PolicyReading, EntryServices } from '../entry/services.js';
import { currentVersionOf } from './current-version.js';
import { isDue } from '../schedule/due.js';
import { nextRotationOf } from './due.js';

/**
 * The periodic safety net. Events can be missed (a version created before the
 * subscription existed, an outage longer than Event Grid's 24 hours, interval
 * policies with no expiry at all), and a rotation can stall (a lost message,
 * an instance that died mid-step). The sweep starts what is due and ends or
 * resumes what is stuck, so every rotation terminates (I3).
 */

export interface SweepReport {
  readonly scanned: number;
  readonly managed: number;
  readonly started: readonly string[];
  readonly duplicates: readonly string[];
  /** Rotations past their deadline, by what the engine did with them. */
  readonly recovered: readonly { readonly rotationId: string; readonly outcome: 'resent' | 'ended' | 'not-found' }[];
  /** Secrets the sweep could not handle this time (it tries again next run). */
  readonly errors: readonly { readonly secret: string; readonly message: string }[];
  /** Every secret the listing showed, with its reading: the expiry warnings of the same run read this instead of listing the vaults again. */
  readonly listing: SweepListing;
}

/** The allowed vaults as one sweep listed them. */
export interface SweepListing {
  readonly secrets: readonly { readonly info: SecretVersionInfo; readonly reading: PolicyReading }[];
  /** Vaults that could not be listed (or not to the end), with why. */
  readonly unlisted: readonly { readonly vaultUrl: string; readonly message: string }[];
}

/**
 * Secrets checked at once. Each check is one lock read, and for a due secret a
 * vault read and a start: 16 keep a 5,000-secret vault's sweep to seconds
 * while staying far below Key Vault's 400 other calls per second.
 */
export const SWEEP_CONCURRENCY = 16;

export async function runSweep(services: EntryServices): Promise<SweepReport> {
  const now = services.clock.now();
  const report = { scanned: 0, managed: 0, started: [] as string[], duplicates: [] as string[], recovered: [] as SweepReport['recovered'][number][], errors: [] as SweepReport['errors'][number][] };
  const listing = { secrets: [] as SweepListing['secrets'][number][], unlisted: [] as SweepListing['unlisted'][number][] };

  const checkOne = async (info: SecretVersionInfo, reading: Exclude<PolicyReading, { kind: 'unmanaged' }>): Promise<void> => {
    const where = formatSecretRef(info.secret);
    try {
      const activeId = await services.ledger.activeRotation(info.secret);
      if (activeId !== undefined) {
        const recovered = await resumeIfStuck(activeId, now, services);
        if (recovered !== undefined) report.recovered.push({ rotationId: activeId, outcome: recovered });
        return;
      }
      // Paused or not yet due: a later sweep. Due outside its window: started now, and the engine
      // schedules its begin for the window's opening, so it is never lost.
      const next = nextRotationOf(info, reading, services.expiryHorizonMs, now);
      if (!isDue(next, now) || next.kind !== 'due' || !info.enabled) return;
      // Within the vault's budget: a read or start the budget puts off waits for its slot (src/pacing).
      const version = await waitingOutThrottle(() => currentVersionOf(services.secrets, info), { clock: services.clock });
      if (version === undefined) return;
      const result = await waitingOutThrottle(() => services.startRotation(info.secret, { kind: TriggerKind.Sweep, version }), { clock: services.clock });
      if (result.outcome === 'started') report.started.push(result.rotationId);
      else if (result.outcome === 'duplicate') report.duplicates.push(result.rotationId);
      services.log.info('sweep found a due secret', { secretRef: where, version, due: next.dueAt.toISOString(), outcome: result.outcome });
    } catch (error) {
      report.errors.push({ secret: where, message: error instanceof Error ? error.message.slice(0, 300) : 'unknown error' });
      services.log.error('sweep could not handle a secret', { secretRef: where, error });
    }
  };

  for (const vaultUrl of services.allowedVaults) {
    // Secrets are checked SWEEP_CONCURRENCY at a time while the listing goes on.
    const running = new Set<Promise<void>>();
    try {
      for await (const info of services.secrets.listSecrets(vaultUrl)) {
        report.scanned += 1;
        const reading = services.readPolicy(info.tags);
        listing.secrets.push({ info, reading });
        if (reading.kind === 'unmanaged') continue;
        report.managed += 1;
        const check = checkOne(info, reading).finally(() => running.delete(check));
        running.add(check);
        if (running.size >= SWEEP_CONCURRENCY) await Promise.race(running);
      }
      await Promise.all(running);
    } catch (error) {
      await Promise.all(running);
      const message = error instanceof Error ? error.message.slice(0, 300) : 'unknown error';
      report.errors.push({ secret: vaultUrl, message });
      listing.unlisted.push({ vaultUrl, message });
      services.log.error('sweep could not list a vault', { vaultUrl, error });
    }
  }
  services.log.info('sweep finished', {
    scanned: report.scanned,
    managed: report.managed,
    started: report.started.length,
    recovered: report.recovered.length,
    errors: report.errors.length,
  });
  return { ...report, listing };
}

/** How long a rotation's current message may be overdue before the sweep sends it again (`ROTOR_STALL_AFTER`). */
export const DEFAULT_STALL_AFTER_MS = 10 * 60_000;

/**
 * Whether the message a running rotation waits for is lost: it was due
 * (`notBefore`, or at once when the record was last written) more than
 * `stallAfterMs` ago and the record has not moved since. A crash between the
 * record and the send (a start's `begin`, a step's next message) leaves
 * exactly this; a message in flight moves the record within a lock duration.
 */
export function isStalled(rotation: Rotation, now: Date, stallAfterMs: number): boolean {
  if (isTerminal(rotation.status)) return false;
  const dueMs = Math.max(Date.parse(rotation.updatedAt), rotation.notBefore === undefined ? 0 : Date.parse(rotation.notBefore));
  return now.getTime() - dueMs > stallAfterMs;
}

/**
 * A rotation that has stalled (its message lost: a crash between the record
 * and the send, a dead instance) or is past its deadline: its current step is
 * sent again. A copy of a message still on its way is harmless (the engine
 * runs a step only for its current message). Past the deadline the engine
 * ends it (rollback if it promoted, Failed otherwise). A rotation already
 * ended whose lock was left behind has the lock released.
 */
async function resumeIfStuck(rotationId: string, now: Date, services: EntryServices): Promise<'resent' | 'ended' | 'not-found' | undefined> {
  const found = await services.ledger.getRotation(rotationId);
  const stuck =
    found === undefined ||
    isTerminal(found.value.status) ||
    Date.parse(found.value.deadline) <= now.getTime() ||
    isStalled(found.value, now, services.stallAfterMs ?? DEFAULT_STALL_AFTER_MS);
  if (!stuck) return undefined;
  const outcome = await services.resumeRotation(rotationId);
  services.log.warn('sweep resumed a stuck rotation', {
    rotationId,
    outcome,
    ...(found === undefined ? {} : { deadline: found.value.deadline, step: found.value.step, since: found.value.notBefore ?? found.value.updatedAt }),
  });
  return outcome;
}
