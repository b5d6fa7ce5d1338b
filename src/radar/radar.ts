import { formatSecretRef, type SecretRef } from '../keyvault/secret-ref.js';
import type { Logger } from '../observability/logger.js';
import type { SecretStore, SecretVersionInfo } from '../rotation/ports.js';
import { currentVersionOf } from '../sweep/current-version.js';
import { dueAt } from '../sweep/due.js';
import type { SweepListing } from '../sweep/sweep.js';
import type { PolicyReading } from '../entry/services.js';
import type { AppCredentialDates, AppCredentialReader } from './graph-credentials.js';
import { ExpiringKind, type ExpiringAppCredential, type ExpiringItem, type ExpiringSecret, type RadarGap, type RadarScan, type WatchReason } from './model.js';

/** What the radar reads: the allowed vaults and, when Graph is reachable, the watched app registrations. */
export interface RadarSources {
  readonly allowedVaults: readonly string[];
  readonly secrets: SecretStore;
  readonly readPolicy: (tags: Readonly<Record<string, string>>) => PolicyReading;
  /** Sweep horizon, for a managed secret's next due rotation. */
  readonly expiryHorizonMs: number;
  /** `ROTOR_WATCH_APPLICATIONS`, lower case. */
  readonly watchApplications: readonly string[];
  /** Graph; `undefined` when none is configured (then only secrets are watched). */
  readonly applications?: AppCredentialReader;
  readonly log: Logger;
}

/** One secret of a vault listing, with what its tags say. */
export interface ListedSecret {
  readonly info: SecretVersionInfo;
  readonly reading: PolicyReading;
}

export interface ScanOptions {
  readonly now: Date;
  /** Items expiring at or before `now + withinMs` (expired ones included). */
  readonly withinMs: number;
}

/** The Entra rotator's kind (`rotor-rotator=entra-app-secret`); its `rotor-target` is the application (client) id. */
const entraAppSecretKind = 'entra-app-secret';

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 300) : 'unknown error';
}

/** A vault that could not be listed, as a gap. */
const unlistedGap = (vaultUrl: string, message: string): RadarGap => ({ source: vaultUrl, detail: `could not list the vault: ${message}` });

/** Every secret of every allowed vault; a vault that cannot be listed becomes a gap. `listed`: what the sweep of this run listed, read instead of listing again. */
export async function listAllSecrets(sources: RadarSources, listed?: SweepListing): Promise<{ secrets: ListedSecret[]; gaps: RadarGap[] }> {
  if (listed !== undefined) return { secrets: [...listed.secrets], gaps: listed.unlisted.map((u) => unlistedGap(u.vaultUrl, u.message)) };
  const secrets: ListedSecret[] = [];
  const gaps: RadarGap[] = [];
  for (const vaultUrl of sources.allowedVaults) {
    try {
      for await (const info of sources.secrets.listSecrets(vaultUrl)) secrets.push({ info, reading: sources.readPolicy(info.tags) });
    } catch (error) {
      gaps.push(unlistedGap(vaultUrl, messageOf(error)));
      sources.log.warn('radar could not list a vault', { vaultUrl, error });
    }
  }
  return { secrets, gaps };
}

/** The app registrations to watch: those `entra-app-secret` policies name, then `ROTOR_WATCH_APPLICATIONS`. */
export function watchedApplications(secrets: readonly ListedSecret[], watchSetting: readonly string[]): Map<string, { because: Set<WatchReason>; rotatedBy: SecretRef[] }> {
  const apps = new Map<string, { because: Set<WatchReason>; rotatedBy: SecretRef[] }>();
  const entry = (appId: string) => {
    let found = apps.get(appId);
    if (found === undefined) {
      found = { because: new Set(), rotatedBy: [] };
      apps.set(appId, found);
    }
    return found;
  };
  for (const { info, reading } of secrets) {
    if (reading.kind !== 'valid' || reading.policy.rotator !== entraAppSecretKind) continue;
    const appId = reading.policy.target?.trim().toLowerCase();
    if (appId === undefined || !guid.test(appId)) continue;
    const found = entry(appId);
    found.because.add('policy');
    found.rotatedBy.push(info.secret);
  }
  for (const appId of watchSetting) entry(appId).because.add('setting');
  return apps;
}

/**
 * Everything expiring within the window: secrets of the allowed vaults
 * (managed or not; disabled latest versions too, since a consumer still
 * breaks) and the password and certificate credentials of the watched app
 * registrations. What could not be read is reported as a gap, never as
 * "nothing expiring".
 */
export async function scanExpiring(sources: RadarSources, options: ScanOptions, listed?: SweepListing): Promise<RadarScan> {
  const nowMs = options.now.getTime();
  const until = nowMs + options.withinMs;
  const { secrets, gaps } = await listAllSecrets(sources, listed);
  const items: ExpiringItem[] = [];

  // Only secrets in the window cost a read (their current version); they are read side by side.
  const inWindow = secrets.filter((listed) => listed.info.expiresOn !== undefined && listed.info.expiresOn.getTime() <= until);
  const read = await Promise.all(
    inWindow.map(async (listed) => {
      try {
        return await expiringSecret(sources, listed, nowMs);
      } catch (error) {
        gaps.push({ source: formatSecretRef(listed.info.secret), detail: `could not read the secret's version: ${messageOf(error)}` });
        return undefined;
      }
    }),
  );
  for (const item of read) if (item !== undefined) items.push(item);

  const credentials = await expiringAppCredentials(sources, secrets, options);
  items.push(...credentials.items);
  gaps.push(...credentials.gaps);

  items.sort((a, b) => Date.parse(a.expiresOn) - Date.parse(b.expiresOn) || a.objectKey.localeCompare(b.objectKey));
  return { asOf: options.now.toISOString(), withinSeconds: Math.round(options.withinMs / 1000), items, gaps };
}

/** The password and certificate credentials of the watched app registrations expiring within the window. */
export async function expiringAppCredentials(
  sources: RadarSources,
  secrets: readonly ListedSecret[],
  options: ScanOptions,
): Promise<{ items: ExpiringAppCredential[]; gaps: RadarGap[] }> {
  const nowMs = options.now.getTime();
  const until = nowMs + options.withinMs;
  const items: ExpiringAppCredential[] = [];
  const gaps: RadarGap[] = [];
  const apps = watchedApplications(secrets, sources.watchApplications);
  if (apps.size > 0 && sources.applications === undefined) {
    gaps.push({ source: 'applications', detail: 'no Graph endpoint is configured, so app registrations are not watched' });
  }
  const reader = sources.applications;
  if (reader !== undefined) {
    await Promise.all([...apps].map(async ([appId, watch]) => {
      try {
        const app = await reader.read(appId);
        const base = {
          appId,
          ...(app.displayName === undefined ? {} : { appDisplayName: app.displayName }),
          watchedBecause: [...watch.because].sort(),
          rotatedBy: watch.rotatedBy.map((s) => ({ vaultUrl: s.vaultUrl, name: s.name })),
        };
        const add = (kind: ExpiringAppCredential['kind'], credential: AppCredentialDates) => {
          const end = credential.endDateTime === undefined ? Number.NaN : Date.parse(credential.endDateTime);
          if (!Number.isFinite(end) || end > until) return;
          items.push({
            kind,
            objectKey: `applications/${appId}/${credential.keyId.toLowerCase()}`,
            version: credential.keyId.toLowerCase(),
            expiresOn: new Date(end).toISOString(),
            expiresInSeconds: Math.round((end - nowMs) / 1000),
            expired: end <= nowMs,
            keyId: credential.keyId,
            ...(credential.displayName === undefined ? {} : { displayName: credential.displayName }),
            ...base,
          });
        };
        for (const p of app.passwordCredentials) add(ExpiringKind.AppPassword, p);
        for (const k of app.keyCredentials) add(ExpiringKind.AppCertificate, k);
      } catch (error) {
        gaps.push({ source: `applications/${appId}`, detail: `could not read the app registration: ${messageOf(error)}` });
        sources.log.warn('radar could not read an app registration', { appId, error });
      }
    }));
  }
  items.sort((a, b) => Date.parse(a.expiresOn) - Date.parse(b.expiresOn) || a.objectKey.localeCompare(b.objectKey));
  gaps.sort((a, b) => a.source.localeCompare(b.source));

  return { items, gaps };
}

async function expiringSecret(sources: RadarSources, listed: ListedSecret, nowMs: number): Promise<ExpiringSecret> {
  const { info, reading } = listed;
  const expiresOn = info.expiresOn as Date;
  // The listing names no version; a disabled latest version has none to read, and is keyed by its expiry instead.
  const version = (await currentVersionOf(sources.secrets, info)) ?? `disabled@${expiresOn.toISOString()}`;
  const managed = reading.kind !== 'unmanaged';
  const due = managed ? dueAt(info, reading, sources.expiryHorizonMs) : undefined;
  const rotator = reading.kind === 'valid' ? reading.policy.rotator : reading.kind === 'invalid' ? reading.rotator : undefined;
  return {
    kind: ExpiringKind.Secret,
    objectKey: formatSecretRef(info.secret).toLowerCase(),
    version,
    expiresOn: expiresOn.toISOString(),
    expiresInSeconds: Math.round((expiresOn.getTime() - nowMs) / 1000),
    expired: expiresOn.getTime() <= nowMs,
    vaultUrl: info.secret.vaultUrl,
    name: info.secret.name,
    enabled: info.enabled,
    managed,
    ...(rotator === undefined ? {} : { rotator }),
    ...(due === undefined ? {} : { nextDue: due.toISOString() }),
  };
}
