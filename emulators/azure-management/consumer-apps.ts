import { defaultResourceGroup, defaultSubscriptionId } from './state.js';

/**
 * The consumers of a secret as ARM shows them: App Service sites (and slots)
 * with Key Vault references, and Container Apps with revisions. A site
 * resolves its references when created, when refreshed
 * (`POST .../config/configreferences/appsettings/refresh`) and, if asked, on a
 * timer standing in for App Service's 24-hour refetch — never otherwise, as in
 * Azure. Resolution reads the vault through `resolve`, as the site's managed
 * identity would.
 */

/** Key Vault reference status values of `ApiKVReference.status` (Microsoft.Web REST spec). */
export type ReferenceStatus =
  | 'Initialized'
  | 'Resolved'
  | 'InvalidSyntax'
  | 'MSINotEnabled'
  | 'VaultNotFound'
  | 'SecretNotFound'
  | 'SecretVersionNotFound'
  | 'AccessToKeyVaultDenied'
  | 'OtherReasons';

export type ReferenceResolution =
  | { readonly status: 'Resolved'; readonly version: string }
  | { readonly status: Exclude<ReferenceStatus, 'Resolved' | 'Initialized'>; readonly details: string };

/** Reads the vault for a site: the latest version of `secretName`, or the pinned one. */
export type KeyVaultResolver = (secretName: string, pinnedVersion: string | undefined) => Promise<ReferenceResolution>;

export interface KeyVaultReferenceSeed {
  /** App setting name. */
  readonly setting: string;
  readonly secretName: string;
  /** Pinned version; absent: the reference follows the latest. */
  readonly secretVersion?: string;
}

export interface WebSiteSeed {
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  readonly name: string;
  readonly slot?: string;
  readonly references?: readonly KeyVaultReferenceSeed[];
}

export interface KeyVaultReferenceState {
  readonly setting: string;
  readonly secretName: string;
  readonly secretVersion?: string;
  status: ReferenceStatus;
  activeVersion?: string;
  details?: string;
  resolvedAt?: string;
}

export interface WebSiteState {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  readonly slot?: string;
  readonly references: KeyVaultReferenceState[];
  /** Refresh requests received (`POST .../refresh`). */
  refreshes: number;
}

export interface ContainerAppSeed {
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  readonly name: string;
  /** Default: one active revision `<name>--0000001`. */
  readonly revisions?: readonly { readonly name: string; readonly active: boolean }[];
}

export interface RevisionState {
  readonly name: string;
  active: boolean;
  restarts: number;
  lastRestartAt?: string;
}

export interface ContainerAppState {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  readonly revisions: RevisionState[];
}

export function webSite(seed: WebSiteSeed): WebSiteState {
  return {
    subscriptionId: seed.subscriptionId ?? defaultSubscriptionId,
    resourceGroup: seed.resourceGroup ?? defaultResourceGroup,
    name: seed.name,
    ...(seed.slot === undefined ? {} : { slot: seed.slot }),
    references: (seed.references ?? []).map((r) => ({
      setting: r.setting,
      secretName: r.secretName,
      ...(r.secretVersion === undefined ? {} : { secretVersion: r.secretVersion }),
      status: 'Initialized' as const,
    })),
    refreshes: 0,
  };
}

export function containerApp(seed: ContainerAppSeed): ContainerAppState {
  return {
    subscriptionId: seed.subscriptionId ?? defaultSubscriptionId,
    resourceGroup: seed.resourceGroup ?? defaultResourceGroup,
    name: seed.name,
    revisions: (seed.revisions ?? [{ name: `${seed.name}--0000001`, active: true }]).map((r) => ({ name: r.name, active: r.active, restarts: 0 })),
  };
}

export function webSiteId(s: { subscriptionId: string; resourceGroup: string; name: string; slot?: string }): string {
  return `/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.Web/sites/${s.name}${s.slot === undefined ? '' : `/slots/${s.slot}`}`;
}

export function containerAppId(a: { subscriptionId: string; resourceGroup: string; name: string }): string {
  return `/subscriptions/${a.subscriptionId}/resourceGroups/${a.resourceGroup}/providers/Microsoft.App/containerApps/${a.name}`;
}

export function siteKey(name: string, slot?: string): string {
  return `${name.toLowerCase()}${slot === undefined ? '' : `/${slot.toLowerCase()}`}`;
}

/** Resolves every reference of a site now, as App Service does on refresh or restart. */
export async function resolveReferences(site: WebSiteState, resolve: KeyVaultResolver | undefined, now: Date = new Date()): Promise<void> {
  for (const reference of site.references) {
    if (resolve === undefined) {
      reference.status = 'OtherReasons';
      reference.details = 'The stand-in was started without a Key Vault to resolve references in.';
      continue;
    }
    let resolution: ReferenceResolution;
    try {
      resolution = await resolve(reference.secretName, reference.secretVersion);
    } catch {
      resolution = { status: 'OtherReasons', details: 'Key Vault could not be reached.' };
    }
    reference.resolvedAt = now.toISOString();
    if (resolution.status === 'Resolved') {
      reference.status = 'Resolved';
      reference.activeVersion = resolution.version;
      delete reference.details;
    } else {
      // A failed refresh keeps serving the last value it resolved, as App Service does.
      reference.status = resolution.status;
      reference.details = resolution.details;
    }
  }
}

/** `KeyVaultReferenceResource` as `GET .../config/configreferences/appsettings` lists it. */
export function referenceResource(site: WebSiteState, reference: KeyVaultReferenceState, vault: { name: string; url: string }): unknown {
  return {
    id: `${webSiteId(site)}/config/configreferences/appsettings/${reference.setting}`,
    name: reference.setting,
    type: 'Microsoft.Web/sites/config/configreferences',
    properties: {
      reference: `@Microsoft.KeyVault(SecretUri=${vault.url}/secrets/${reference.secretName}/${reference.secretVersion ?? ''})`,
      status: reference.status,
      vaultName: vault.name,
      secretName: reference.secretName,
      secretVersion: reference.secretVersion ?? '',
      ...(reference.activeVersion === undefined ? {} : { activeVersion: reference.activeVersion }),
      ...(reference.details === undefined ? {} : { details: reference.details }),
      identityType: 'SystemAssigned',
      source: 'KeyVault',
      location: 'ApplicationSetting',
    },
  };
}
