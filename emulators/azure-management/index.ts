import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loopbackCertificate } from '../loopback-certificate.js';
import { startAzuriteAccounts, type AzuriteAccounts } from './azurite-accounts.js';
import {
  application,
  eventGridTopic,
  eventGridTopicId,
  newStorageKey,
  newTopicKey,
  keyCredential,
  passwordCredential,
  storageAccount,
  storageAccountId,
  type ApplicationSeed,
  type ApplicationState,
  type EventGridTopicSeed,
  type EventGridTopicState,
  type KeyCredentialSeed,
  type KeyCredentialState,
  type PasswordCredentialState,
  type StorageAccountSeed,
  type StorageAccountState,
} from './state.js';

import {
  containerApp,
  containerAppId,
  referenceResource,
  resolveReferences,
  siteKey,
  webSite,
  webSiteId,
  type ContainerAppSeed,
  type ContainerAppState,
  type KeyVaultResolver,
  type WebSiteSeed,
  type WebSiteState,
} from './consumer-apps.js';

export * from './state.js';
export * from './consumer-apps.js';

/**
 * A local stand-in for the few Azure Resource Manager, Microsoft Graph,
 * identity platform and Event Grid endpoints Rotor's Azure rotators call, with
 * their documented request and response shapes, so the real client code runs
 * against it with only the base URL changed:
 *
 * - ARM (bearer token, `api-version` required): `POST .../Microsoft.Storage/storageAccounts/{name}/listKeys|regenerateKey`
 *   (200, synchronous); `POST .../Microsoft.EventGrid/{topics|domains}/{name}/listKeys|regenerateKey`
 *   (regenerateKey long-running: 202 with `Location` [and `Azure-AsyncOperation`], `Retry-After`);
 *   operation polling under `/subscriptions/{sub}/providers/Microsoft.EventGrid/locations/{loc}/...`.
 * - Graph v1.0 (bearer token): `GET /applications/{id}` and `/applications(appId='{appId}')`
 *   (`$select` honoured; password and certificate credentials), `POST .../addPassword` (200, secret text once), `POST .../removePassword` (204).
 * - Identity platform: `POST /{tenant}/oauth2/v2.0/token`, client credentials grant against the apps' secrets.
 * - Event Grid data plane: `POST /eventgrid/{topics|domains}/{name}/api/events` with `aeg-sas-key`.
 *
 * Errors use each service's shapes (`{ error: { code, message } }`, OAuth
 * `{ error, error_description, error_codes }`); 429 answers carry `Retry-After`.
 * It serves HTTPS with a fresh self-signed certificate (`ca`): the Azure SDK's
 * bearer policy refuses plain HTTP, and the point is to run that policy.
 * With `azurite: true`, its storage accounts also exist in an in-process
 * Azurite with the same keys, kept in sync on every regeneration.
 */
export interface AzureManagementEmulatorOptions {
  readonly host?: string;
  readonly port?: number;
  readonly tenantId?: string;
  readonly storageAccounts?: readonly StorageAccountSeed[];
  readonly eventGridTopics?: readonly EventGridTopicSeed[];
  readonly applications?: readonly ApplicationSeed[];
  /** Start an in-process Azurite holding the storage accounts with their keys. */
  readonly azurite?: boolean;
  /** How Event Grid regenerateKey answers. Default `location` (202 + Location). */
  readonly eventGridRegenerate?: 'sync' | 'location' | 'async-operation';
  /** 202 answers a polled operation gives before it completes. Default 1. */
  readonly operationPolls?: number;
  /** Retry-After (seconds) on 202 answers. Default 0, so tests do not wait. */
  readonly operationRetryAfterSeconds?: number;
  /** Called after a topic's keys are regenerated, so an Event Grid data plane elsewhere (the local stack's emulator) follows. */
  readonly onEventGridKeys?: (topicName: string, keys: { readonly key1: string; readonly key2: string }) => void;
  /** App Service sites (and slots) with Key Vault references: consumers of secrets. */
  readonly webSites?: readonly WebSiteSeed[];
  /** Container Apps with revisions: consumers of secrets. */
  readonly containerApps?: readonly ContainerAppSeed[];
  /** The vault the sites' references point at, read as the sites' identity would. */
  readonly keyVault?: { readonly url: string; readonly name?: string; readonly resolve: KeyVaultResolver };
  /** A refresh resolves the references this long after it is accepted (Azure does it in the background). Default 0. */
  readonly referenceRefreshDelayMs?: number;
  /** Sites also re-resolve on this timer: App Service's 24-hour refetch, compressed. Default: never. */
  readonly referenceRefetchIntervalMs?: number;
}

export type ServiceName = 'arm' | 'graph' | 'token' | 'eventgrid';

export interface CallRecord {
  readonly service: ServiceName;
  readonly method: string;
  /** Path without query. */
  readonly path: string;
  readonly apiVersion?: string;
  readonly status: number;
  readonly authorized: boolean;
}

export interface FaultRule {
  /** throttle: 429 + Retry-After; fail: the status; drop: the request is processed, then the connection is cut (a lost answer). */
  readonly kind: 'throttle' | 'fail' | 'drop';
  readonly times?: number;
  readonly status?: number;
  readonly retryAfterSeconds?: number;
  readonly method?: string;
  /** Case-insensitive substring of the path. */
  readonly pathIncludes?: string;
}

export interface PublishedEvent {
  readonly topic: string;
  readonly body: unknown;
}

export interface AzureManagementAdmin {
  storageAccount(name: string): Readonly<StorageAccountState>;
  eventGridTopic(name: string): Readonly<EventGridTopicState>;
  application(appId: string): Readonly<ApplicationState>;
  addStorageAccount(seed: StorageAccountSeed): Readonly<StorageAccountState>;
  addEventGridTopic(seed: EventGridTopicSeed): Readonly<EventGridTopicState>;
  addApplication(seed: ApplicationSeed): Readonly<ApplicationState>;
  /** Regenerate a key as someone outside Rotor would (portal, CLI). */
  regenerateStorageKey(name: string, keyName: 'key1' | 'key2'): void;
  /** Add or remove a password as someone outside Rotor would. */
  addPassword(appId: string, seed?: { displayName?: string; secretText?: string }): Readonly<PasswordCredentialState>;
  removePassword(appId: string, keyId: string): void;
  /** Upload a certificate credential's public part as someone outside Rotor would. */
  addCertificate(appId: string, seed?: KeyCredentialSeed): Readonly<KeyCredentialState>;
  webSite(name: string, slot?: string): Readonly<WebSiteState>;
  /** Adds a site and resolves its references, as creating it in Azure does. */
  addWebSite(seed: WebSiteSeed): Promise<Readonly<WebSiteState>>;
  /** Resolves a site's references now, as a restart or the 24-hour refetch does. */
  restartWebSite(name: string, slot?: string): Promise<void>;
  containerApp(name: string): Readonly<ContainerAppState>;
  addContainerApp(seed: ContainerAppSeed): Readonly<ContainerAppState>;
  /** Answer the next matching requests with a fault. */
  inject(rule: FaultRule): void;
  clearFaults(): void;
  readonly calls: readonly CallRecord[];
  readonly publishedEvents: readonly PublishedEvent[];
}

export interface AzureManagementEmulator {
  /** Base URL; also the ARM endpoint, the Graph endpoint and the authority host. */
  readonly url: string;
  readonly armEndpoint: string;
  readonly graphEndpoint: string;
  readonly authorityHost: string;
  readonly tenantId: string;
  /** PEM of the self-signed certificate, for `tls: { ca }`. */
  readonly ca: string;
  /** ARM resource id of a storage account / topic the stand-in holds. */
  storageAccountId(name: string): string;
  eventGridTopicId(name: string): string;
  webSiteId(name: string, slot?: string): string;
  containerAppId(name: string): string;
  /** Topic endpoint for publishing (`aeg-sas-key`). */
  topicEndpoint(name: string): string;
  /** Azurite blob endpoint of a storage account (requires `azurite: true`). */
  blobEndpoint(accountName: string): string;
  readonly admin: AzureManagementAdmin;
  stop(): Promise<void>;
}

const storageApiVersions = new Set(['2021-09-01', '2022-09-01', '2023-01-01', '2023-05-01', '2024-01-01', '2025-01-01']);
const eventGridApiVersions = new Set(['2022-06-15', '2023-12-15-preview', '2024-06-01-preview', '2025-02-15']);
const eventGridDataApiVersion = '2018-01-01';
const webApiVersions = new Set(['2022-03-01', '2022-09-01', '2023-01-01', '2023-12-01', '2024-04-01', '2024-11-01', '2025-03-01']);
const containerAppsApiVersions = new Set(['2023-05-01', '2024-03-01', '2025-01-01']);

class HttpAnswer {
  constructor(
    readonly status: number,
    readonly body?: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

const armError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  new HttpAnswer(status, { error: { code, message } }, headers);

const graphError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  new HttpAnswer(status, { error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': randomUUID(), 'client-request-id': randomUUID() } } }, headers);

interface PendingOperation {
  pollsLeft: number;
  readonly result: () => unknown;
  readonly apiVersion: string;
}

export async function startAzureManagementEmulator(options: AzureManagementEmulatorOptions = {}): Promise<AzureManagementEmulator> {
  const tenantId = options.tenantId ?? '72f988bf-0000-4000-8000-00000000a2e0';
  const accounts = new Map<string, StorageAccountState>();
  const topics = new Map<string, EventGridTopicState>();
  const apps = new Map<string, ApplicationState>();
  const operations = new Map<string, PendingOperation>();
  const calls: CallRecord[] = [];
  const published: PublishedEvent[] = [];
  let faults: (FaultRule & { remaining: number })[] = [];
  const regenerateMode = options.eventGridRegenerate ?? 'location';
  const operationPolls = options.operationPolls ?? 1;
  const operationRetryAfter = String(options.operationRetryAfterSeconds ?? 0);

  for (const seed of options.storageAccounts ?? []) accounts.set(seed.name.toLowerCase(), storageAccount(seed));
  for (const seed of options.eventGridTopics ?? []) {
    const topic = eventGridTopic(seed);
    topics.set(`${topic.type}/${topic.name.toLowerCase()}`, topic);
  }
  for (const seed of options.applications ?? []) {
    const app = application(seed);
    apps.set(app.appId.toLowerCase(), app);
  }
  const sites = new Map<string, WebSiteState>();
  const containerApps = new Map<string, ContainerAppState>();
  const resolver = options.keyVault?.resolve;
  const vaultView = options.keyVault === undefined
    ? { name: 'kv-none', url: 'https://kv-none.vault.azure.net' }
    : { name: options.keyVault.name ?? new URL(options.keyVault.url).hostname.split('.')[0] ?? 'kv', url: new URL(options.keyVault.url).origin };
  for (const seed of options.webSites ?? []) {
    const site = webSite(seed);
    sites.set(siteKey(site.name, site.slot), site);
    await resolveReferences(site, resolver);
  }
  for (const seed of options.containerApps ?? []) containerApps.set(seed.name.toLowerCase(), containerApp(seed));
  const refreshTimers = new Set<NodeJS.Timeout>();
  const refetch =
    options.referenceRefetchIntervalMs === undefined
      ? undefined
      : setInterval(() => {
          for (const site of sites.values()) void resolveReferences(site, resolver);
        }, options.referenceRefetchIntervalMs);
  refetch?.unref();

  let azurite: AzuriteAccounts | undefined;
  const syncAzurite = () => azurite?.setAccounts([...accounts.values()].map((a) => ({ name: a.name, key1: a.key1, key2: a.key2 })));
  if (options.azurite === true) {
    azurite = await startAzuriteAccounts([...accounts.values()].map((a) => ({ name: a.name, key1: a.key1, key2: a.key2 })), options.host === undefined ? {} : { host: options.host });
  }

  const host = options.host ?? '127.0.0.1';
  const pems = await loopbackCertificate('rotor-azure-management-stand-in');

  let base = '';

  // ---- ARM -------------------------------------------------------------------

  const regenerateStorage = (account: StorageAccountState, keyName: 'key1' | 'key2') => {
    const now = new Date().toISOString();
    if (keyName === 'key1') {
      account.key1 = newStorageKey();
      account.key1CreatedAt = now;
    } else {
      account.key2 = newStorageKey();
      account.key2CreatedAt = now;
    }
    syncAzurite();
  };

  const storageKeysBody = (a: StorageAccountState) => ({
    keys: [
      { creationTime: a.key1CreatedAt, keyName: 'key1', permissions: 'FULL', value: a.key1 },
      { creationTime: a.key2CreatedAt, keyName: 'key2', permissions: 'FULL', value: a.key2 },
    ],
  });

  const keyNameOf = (body: unknown): 'key1' | 'key2' | undefined => {
    const keyName = typeof body === 'object' && body !== null && 'keyName' in body ? body.keyName : undefined;
    return typeof keyName === 'string' && ['key1', 'key2'].includes(keyName.toLowerCase()) ? (keyName.toLowerCase() as 'key1' | 'key2') : undefined;
  };

  const resourceRoute =
    /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/(microsoft\.storage\/storageaccounts|microsoft\.eventgrid\/topics|microsoft\.eventgrid\/domains)\/([^/]+)\/(listkeys|regeneratekey)$/i;
  const operationRoute = /^\/subscriptions\/([^/]+)\/providers\/microsoft\.eventgrid\/locations\/([^/]+)\/(operationresults|operationsstatus)\/([^/]+)$/i;

  const handleArm = (method: string, path: string, apiVersion: string | undefined, body: unknown): HttpAnswer => {
    if (apiVersion === undefined) {
      return armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    }
    const operation = operationRoute.exec(path);
    if (operation !== null && method === 'GET') {
      const id = operation[4] as string;
      const pending = operations.get(id);
      if (pending === undefined) return armError(404, 'OperationNotFound', `The operation '${id}' was not found.`);
      if (pending.pollsLeft > 0) {
        pending.pollsLeft -= 1;
        return new HttpAnswer(202, operation[3]?.toLowerCase() === 'operationsstatus' ? { id, status: 'InProgress' } : undefined, { 'Retry-After': operationRetryAfter });
      }
      if (operation[3]?.toLowerCase() === 'operationsstatus') {
        return new HttpAnswer(200, { id, name: id, status: 'Succeeded' });
      }
      operations.delete(id);
      return new HttpAnswer(200, pending.result());
    }
    const match = resourceRoute.exec(path);
    if (match === null || method !== 'POST') {
      return armError(404, 'InvalidResourceType', `The resource type could not be found in the namespace for api version '${apiVersion}'.`);
    }
    const [, subscriptionId, resourceGroup, providerType, name, action] = match as unknown as [string, string, string, string, string, string];
    const isStorage = providerType.toLowerCase().startsWith('microsoft.storage');
    const known = isStorage ? storageApiVersions : eventGridApiVersions;
    if (!known.has(apiVersion)) {
      return armError(
        400,
        'NoRegisteredProviderFound',
        `No registered resource provider found for location 'westeurope' and API version '${apiVersion}' for type '${providerType.split('/')[1]}'. The supported api-versions are '${[...known].join(', ')}'.`,
      );
    }
    const sameScope = (r: { subscriptionId: string; resourceGroup: string }) =>
      r.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() && r.resourceGroup.toLowerCase() === resourceGroup.toLowerCase();

    if (isStorage) {
      const account = accounts.get(name.toLowerCase());
      if (account === undefined || !sameScope(account)) {
        return armError(404, 'ResourceNotFound', `The Resource 'Microsoft.Storage/storageAccounts/${name}' under resource group '${resourceGroup}' was not found.`);
      }
      if (action.toLowerCase() === 'listkeys') return new HttpAnswer(200, storageKeysBody(account));
      const keyName = keyNameOf(body);
      if (keyName === undefined) {
        return armError(400, 'InvalidValuesForRequestParameters', 'Values for request parameters are invalid: keyName.');
      }
      regenerateStorage(account, keyName);
      return new HttpAnswer(200, storageKeysBody(account));
    }

    const type = providerType.toLowerCase().endsWith('domains') ? 'domains' : 'topics';
    const topic = topics.get(`${type}/${name.toLowerCase()}`);
    if (topic === undefined || !sameScope(topic)) {
      return armError(404, 'ResourceNotFound', `The Resource 'Microsoft.EventGrid/${type}/${name}' under resource group '${resourceGroup}' was not found.`);
    }
    if (action.toLowerCase() === 'listkeys') return new HttpAnswer(200, { key1: topic.key1, key2: topic.key2 });
    const keyName = keyNameOf(body);
    if (keyName === undefined) return armError(400, 'InvalidRequest', "Invalid key name. Valid values are 'key1' and 'key2'.");
    if (keyName === 'key1') topic.key1 = newTopicKey();
    else topic.key2 = newTopicKey();
    options.onEventGridKeys?.(topic.name, { key1: topic.key1, key2: topic.key2 });
    const result = () => ({ key1: topic.key1, key2: topic.key2 });
    if (regenerateMode === 'sync') return new HttpAnswer(200, result());
    const id = randomUUID();
    operations.set(id, { pollsLeft: operationPolls, result, apiVersion });
    const location = `${base}/subscriptions/${subscriptionId}/providers/Microsoft.EventGrid/locations/westeurope/operationResults/${id}?api-version=${apiVersion}`;
    const headers: Record<string, string> = { Location: location, 'Retry-After': operationRetryAfter };
    if (regenerateMode === 'async-operation') {
      headers['Azure-AsyncOperation'] = `${base}/subscriptions/${subscriptionId}/providers/Microsoft.EventGrid/locations/westeurope/operationsStatus/${id}?api-version=${apiVersion}`;
    }
    return new HttpAnswer(202, undefined, headers);
  };

  // ---- ARM: consumers (App Service Key Vault references, Container Apps revisions) ---------

  const siteRoute =
    /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.web\/sites\/([^/]+)(?:\/slots\/([^/]+))?\/config\/configreferences\/appsettings(\/refresh)?$/i;
  const revisionsRoute = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.app\/containerapps\/([^/]+)\/revisions(?:\/([^/]+)\/(restart))?$/i;
  const inScope = (r: { subscriptionId: string; resourceGroup: string }, subscriptionId: string, resourceGroup: string) =>
    r.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() && r.resourceGroup.toLowerCase() === resourceGroup.toLowerCase();

  /** The consumer endpoints; `undefined` for any other path. */
  const handleConsumerArm = (method: string, path: string, apiVersion: string | undefined): HttpAnswer | undefined => {
    const siteMatch = siteRoute.exec(path);
    if (siteMatch !== null) {
      const [, subscriptionId, resourceGroup, name, slot, refresh] = siteMatch as unknown as [string, string, string, string, string | undefined, string | undefined];
      if (apiVersion === undefined) return armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
      if (!webApiVersions.has(apiVersion)) {
        return armError(400, 'NoRegisteredProviderFound', `No registered resource provider found for location 'westeurope' and API version '${apiVersion}' for type 'sites'. The supported api-versions are '${[...webApiVersions].join(', ')}'.`);
      }
      const site = sites.get(siteKey(name, slot));
      if (site === undefined || !inScope(site, subscriptionId, resourceGroup)) {
        return armError(404, 'ResourceNotFound', `The Resource 'Microsoft.Web/sites/${name}' under resource group '${resourceGroup}' was not found.`);
      }
      if (refresh !== undefined) {
        if (method !== 'POST') return armError(405, 'MethodNotAllowed', 'The requested resource does not support http method ' + method + '.');
        site.refreshes += 1;
        // App Service re-resolves in the background; the caller reads the outcome with GET.
        const timer = setTimeout(() => {
          refreshTimers.delete(timer);
          void resolveReferences(site, resolver);
        }, options.referenceRefreshDelayMs ?? 0);
        refreshTimers.add(timer);
        return new HttpAnswer(200);
      }
      if (method !== 'GET') return armError(405, 'MethodNotAllowed', 'The requested resource does not support http method ' + method + '.');
      return new HttpAnswer(200, { value: site.references.map((r) => referenceResource(site, r, vaultView)) });
    }
    const appMatch = revisionsRoute.exec(path);
    if (appMatch !== null) {
      const [, subscriptionId, resourceGroup, name, revisionName, restart] = appMatch as unknown as [string, string, string, string, string | undefined, string | undefined];
      if (apiVersion === undefined) return armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
      if (!containerAppsApiVersions.has(apiVersion)) {
        return armError(400, 'NoRegisteredProviderFound', `No registered resource provider found for location 'westeurope' and API version '${apiVersion}' for type 'containerApps'. The supported api-versions are '${[...containerAppsApiVersions].join(', ')}'.`);
      }
      const app = containerApps.get(name.toLowerCase());
      if (app === undefined || !inScope(app, subscriptionId, resourceGroup)) {
        return armError(404, 'ResourceNotFound', `The Resource 'Microsoft.App/containerApps/${name}' under resource group '${resourceGroup}' was not found.`);
      }
      if (restart === undefined) {
        if (method !== 'GET') return armError(405, 'MethodNotAllowed', 'The requested resource does not support http method ' + method + '.');
        return new HttpAnswer(200, {
          value: app.revisions.map((r) => ({
            id: `${containerAppId(app)}/revisions/${r.name}`,
            name: r.name,
            type: 'Microsoft.App/containerApps/revisions',
            properties: { active: r.active, trafficWeight: r.active ? 100 : 0, healthState: 'Healthy', runningState: r.active ? 'Running' : 'Stopped', replicas: r.active ? 1 : 0 },
          })),
        });
      }
      if (method !== 'POST') return armError(405, 'MethodNotAllowed', 'The requested resource does not support http method ' + method + '.');
      const revision = app.revisions.find((r) => r.name.toLowerCase() === (revisionName ?? '').toLowerCase());
      if (revision === undefined) return armError(404, 'ResourceNotFound', `The revision '${revisionName ?? ''}' was not found.`);
      revision.restarts += 1;
      revision.lastRestartAt = new Date().toISOString();
      return new HttpAnswer(200);
    }
    return undefined;
  };

  // ---- Graph -----------------------------------------------------------------

  const graphRoute = /^\/v1\.0\/applications(?:\/([0-9a-fA-F-]{36})|\(appId='([^']+)'\))(?:\/(addPassword|removePassword))?$/;

  const appView = (app: ApplicationState, select: string | null) => {
    const full: Record<string, unknown> = {
      '@odata.context': `${base}/v1.0/$metadata#applications/$entity`,
      id: app.id,
      appId: app.appId,
      displayName: app.displayName,
      passwordCredentials: app.passwordCredentials.map((p) => ({
        customKeyIdentifier: null,
        displayName: p.displayName,
        endDateTime: p.endDateTime,
        hint: p.hint,
        keyId: p.keyId,
        secretText: null,
        startDateTime: p.startDateTime,
      })),
      // Graph lists `key` as null unless it is asked for by $select; the stand-in holds no key material.
      keyCredentials: app.keyCredentials.map((k) => ({
        customKeyIdentifier: k.customKeyIdentifier,
        displayName: k.displayName,
        endDateTime: k.endDateTime,
        key: null,
        keyId: k.keyId,
        startDateTime: k.startDateTime,
        type: k.type,
        usage: k.usage,
      })),
    };
    if (select === null) return full;
    const wanted = new Set(select.split(',').map((s) => s.trim()));
    return Object.fromEntries(Object.entries(full).filter(([k]) => k.startsWith('@') || wanted.has(k)));
  };

  const handleGraph = (method: string, path: string, query: URLSearchParams, body: unknown): HttpAnswer => {
    const match = graphRoute.exec(path);
    if (match === null) return graphError(400, 'BadRequest', `Resource not found for the segment '${path.split('/').pop() ?? ''}'.`);
    const [, objectId, appId, action] = match;
    const app =
      objectId !== undefined
        ? [...apps.values()].find((a) => a.id.toLowerCase() === objectId.toLowerCase())
        : apps.get(decodeURIComponent(appId ?? '').toLowerCase());
    if (app === undefined) {
      return graphError(404, 'Request_ResourceNotFound', `Resource '${objectId ?? appId ?? ''}' does not exist or one of its queried reference-property objects are not present.`);
    }
    if (action === undefined) {
      if (method !== 'GET') return graphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
      return new HttpAnswer(200, appView(app, query.get('$select')));
    }
    if (method !== 'POST') return graphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
    if (action === 'addPassword') {
      const input = typeof body === 'object' && body !== null && 'passwordCredential' in body ? (body.passwordCredential as Record<string, unknown> | null) : null;
      const displayName = typeof input?.displayName === 'string' ? input.displayName : undefined;
      const endDateTime = typeof input?.endDateTime === 'string' ? input.endDateTime : undefined;
      if (endDateTime !== undefined && !Number.isFinite(Date.parse(endDateTime))) {
        return graphError(400, 'Request_BadRequest', "Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.");
      }
      const credential = passwordCredential(
        { ...(displayName === undefined ? {} : { displayName }), ...(endDateTime === undefined ? {} : { endDateTime: new Date(endDateTime).toISOString() }) },
        new Date(),
      );
      app.passwordCredentials.push(credential);
      return new HttpAnswer(200, {
        '@odata.context': `${base}/v1.0/$metadata#microsoft.graph.passwordCredential`,
        customKeyIdentifier: null,
        displayName: credential.displayName,
        endDateTime: credential.endDateTime,
        hint: credential.hint,
        keyId: credential.keyId,
        secretText: credential.secretText,
        startDateTime: credential.startDateTime,
      });
    }
    const keyId = typeof body === 'object' && body !== null && 'keyId' in body && typeof body.keyId === 'string' ? body.keyId : undefined;
    if (keyId === undefined) return graphError(400, 'Request_BadRequest', "The request body must contain 'keyId'.");
    const index = app.passwordCredentials.findIndex((p) => p.keyId.toLowerCase() === keyId.toLowerCase());
    // Assumption: Graph refuses an unknown key id with 400; Rotor checks presence before removing, so it does not rely on it.
    if (index < 0) return graphError(400, 'Request_BadRequest', `No password credential found with keyId ${keyId}.`);
    app.passwordCredentials.splice(index, 1);
    return new HttpAnswer(204);
  };

  // ---- identity platform ------------------------------------------------------

  const oauthError = (status: number, error: string, code: number, description: string) =>
    new HttpAnswer(status, {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
      error_codes: [code],
      timestamp: new Date().toISOString(),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    });

  const handleToken = (tenant: string, form: URLSearchParams): HttpAnswer => {
    if (tenant.toLowerCase() !== tenantId.toLowerCase()) return oauthError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
    if (form.get('grant_type') !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (form.get('scope') === null) return oauthError(400, 'invalid_scope', 1002012, 'The provided value for scope is not valid.');
    const app = apps.get((form.get('client_id') ?? '').toLowerCase());
    if (app === undefined) return oauthError(400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id') ?? ''}' was not found in the directory.`);
    const secret = form.get('client_secret');
    const now = Date.now();
    const valid = app.passwordCredentials.some((p) => p.secretText === secret && Date.parse(p.startDateTime) <= now && now < Date.parse(p.endDateTime));
    if (!valid) return oauthError(401, 'invalid_client', 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + app.appId + "'.");
    return new HttpAnswer(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: `stand-in.${randomUUID()}` });
  };

  // ---- Event Grid data plane ----------------------------------------------------

  const eventRoute = /^\/eventgrid\/(topics|domains)\/([^/]+)\/api\/events$/i;

  const handlePublish = (path: string, apiVersion: string | undefined, headers: IncomingMessage['headers'], body: unknown): HttpAnswer => {
    const match = eventRoute.exec(path) as [string, string, string] | null;
    const topic = match === null ? undefined : topics.get(`${match[1].toLowerCase()}/${match[2].toLowerCase()}`);
    if (match === null || topic === undefined) return armError(404, 'NotFound', 'The topic was not found.');
    if (apiVersion !== eventGridDataApiVersion) return armError(400, 'BadRequest', `The api-version '${apiVersion ?? ''}' is invalid.`);
    const key = headers['aeg-sas-key'];
    if (typeof key !== 'string' || (key !== topic.key1 && key !== topic.key2)) {
      return armError(401, 'Unauthorized', 'The request authorization key is not authorized for ' + topic.name + '. This is due to the reason: The key provided is not valid.');
    }
    if (!Array.isArray(body)) return armError(400, 'BadRequest', 'The request body must be an array of events.');
    published.push({ topic: topic.name, body });
    return new HttpAnswer(200);
  };

  // ---- dispatch ------------------------------------------------------------------

  const serviceOf = (path: string): ServiceName =>
    path.startsWith('/v1.0/') ? 'graph' : path.startsWith('/eventgrid/') ? 'eventgrid' : /\/oauth2\/v2\.0\/token$/.test(path) ? 'token' : 'arm';

  const takeFault = (method: string, path: string): FaultRule | undefined => {
    const rule = faults.find(
      (f) => f.remaining > 0 && (f.method === undefined || f.method === method) && (f.pathIncludes === undefined || path.toLowerCase().includes(f.pathIncludes.toLowerCase())),
    );
    if (rule === undefined) return undefined;
    rule.remaining -= 1;
    faults = faults.filter((f) => f.remaining > 0);
    return rule;
  };

  const readBody = (request: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      request.on('error', reject);
    });

  const send = (response: ServerResponse, answer: HttpAnswer) => {
    const headers: Record<string, string> = { 'x-ms-request-id': randomUUID(), ...answer.headers };
    if (answer.body === undefined) {
      response.writeHead(answer.status, headers).end();
      return;
    }
    const text = JSON.stringify(answer.body);
    response.writeHead(answer.status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', base);
    const path = decodeURIComponent(url.pathname);
    const method = request.method ?? 'GET';
    const service = serviceOf(path);
    const apiVersion = url.searchParams.get('api-version') ?? undefined;
    const text = await readBody(request);
    const authorization = request.headers.authorization;
    const authorized = typeof authorization === 'string' && /^Bearer \S+/.test(authorization);
    const record = (status: number) => calls.push({ service, method, path, status, authorized, ...(apiVersion === undefined ? {} : { apiVersion }) });

    const fault = takeFault(method, path);
    if (fault?.kind === 'throttle') {
      const retryAfter = { 'Retry-After': String(fault.retryAfterSeconds ?? 0) };
      const answer = service === 'graph' ? graphError(429, 'TooManyRequests', 'Too many requests.', retryAfter) : armError(429, 'TooManyRequests', 'The request is being throttled.', retryAfter);
      record(429);
      send(response, answer);
      return;
    }
    if (fault?.kind === 'fail') {
      const status = fault.status ?? 500;
      record(status);
      send(response, armError(status, status >= 500 ? 'InternalServerError' : 'BadRequest', 'Injected failure.'));
      return;
    }

    let answer: HttpAnswer;
    if (service === 'token') {
      answer = method === 'POST' ? handleToken(path.split('/')[1] ?? '', new URLSearchParams(text)) : oauthError(400, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
    } else if (service === 'eventgrid') {
      answer = handlePublish(path, apiVersion, request.headers, parseJson(text));
    } else if (!authorized) {
      answer =
        service === 'graph'
          ? graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.')
          : armError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", {
              'WWW-Authenticate': `Bearer authorization_uri="${base}/${tenantId}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
            });
    } else if (service === 'graph') {
      answer = handleGraph(method, path, url.searchParams, parseJson(text));
    } else {
      answer = handleConsumerArm(method, path, apiVersion) ?? handleArm(method, path, apiVersion, parseJson(text));
    }
    record(answer.status);
    if (fault?.kind === 'drop') {
      // The work is done; the answer is lost, as when a connection resets after the provider acted.
      request.socket.destroy();
      return;
    }
    send(response, answer);
  };

  const server: Server = createServer({ key: pems.key, cert: pems.cert }, (request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) send(response, armError(500, 'InternalServerError', 'The stand-in failed.'));
    });
  });
  // Idle connections are kept as Azure's front ends keep them, not Node's 5 s (see the Key Vault emulator).
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  base = `https://${host}:${address.port}`;

  const mustAccount = (name: string) => {
    const account = accounts.get(name.toLowerCase());
    if (account === undefined) throw new Error(`No storage account ${name} in the stand-in`);
    return account;
  };
  const mustTopic = (name: string) => {
    const topic = topics.get(`topics/${name.toLowerCase()}`) ?? topics.get(`domains/${name.toLowerCase()}`);
    if (topic === undefined) throw new Error(`No Event Grid topic or domain ${name} in the stand-in`);
    return topic;
  };
  const mustApp = (appId: string) => {
    const app = apps.get(appId.toLowerCase());
    if (app === undefined) throw new Error(`No application ${appId} in the stand-in`);
    return app;
  };

  const mustSite = (name: string, slot?: string) => {
    const site = sites.get(siteKey(name, slot));
    if (site === undefined) throw new Error(`No web site ${name}${slot === undefined ? '' : `/${slot}`} in the stand-in`);
    return site;
  };
  const mustContainerApp = (name: string) => {
    const app = containerApps.get(name.toLowerCase());
    if (app === undefined) throw new Error(`No container app ${name} in the stand-in`);
    return app;
  };

  const admin: AzureManagementAdmin = {
    webSite: mustSite,
    async addWebSite(seed) {
      const site = webSite(seed);
      sites.set(siteKey(site.name, site.slot), site);
      await resolveReferences(site, resolver);
      return site;
    },
    restartWebSite: (name, slot) => resolveReferences(mustSite(name, slot), resolver),
    containerApp: mustContainerApp,
    addContainerApp(seed) {
      const app = containerApp(seed);
      containerApps.set(app.name.toLowerCase(), app);
      return app;
    },
    storageAccount: mustAccount,
    eventGridTopic: mustTopic,
    application: mustApp,
    addStorageAccount(seed) {
      const account = storageAccount(seed);
      accounts.set(account.name.toLowerCase(), account);
      syncAzurite();
      return account;
    },
    addEventGridTopic(seed) {
      const topic = eventGridTopic(seed);
      topics.set(`${topic.type}/${topic.name.toLowerCase()}`, topic);
      return topic;
    },
    addApplication(seed) {
      const app = application(seed);
      apps.set(app.appId.toLowerCase(), app);
      return app;
    },
    regenerateStorageKey: (name, keyName) => regenerateStorage(mustAccount(name), keyName),
    addPassword(appId, seed = {}) {
      const credential = passwordCredential(seed, new Date());
      mustApp(appId).passwordCredentials.push(credential);
      return credential;
    },
    removePassword(appId, keyId) {
      const app = mustApp(appId);
      app.passwordCredentials = app.passwordCredentials.filter((p) => p.keyId !== keyId);
    },
    addCertificate(appId, seed = {}) {
      const credential = keyCredential(seed, new Date());
      mustApp(appId).keyCredentials.push(credential);
      return credential;
    },
    inject(rule) {
      faults.push({ ...rule, remaining: rule.times ?? 1 });
    },
    clearFaults() {
      faults = [];
    },
    calls,
    publishedEvents: published,
  };

  return {
    url: base,
    armEndpoint: base,
    graphEndpoint: base,
    authorityHost: base,
    tenantId,
    ca: pems.cert,
    storageAccountId: (name) => storageAccountId(mustAccount(name)),
    eventGridTopicId: (name) => eventGridTopicId(mustTopic(name)),
    webSiteId: (name, slot) => webSiteId(mustSite(name, slot)),
    containerAppId: (name) => containerAppId(mustContainerApp(name)),
    topicEndpoint: (name) => `${base}/eventgrid/${mustTopic(name).type}/${name}/api/events`,
    blobEndpoint(accountName) {
      if (azurite === undefined) throw new Error('Start the stand-in with azurite: true to get blob endpoints');
      return azurite.blobEndpoint(accountName);
    },
    admin,
    async stop() {
      if (refetch !== undefined) clearInterval(refetch);
      for (const timer of refreshTimers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await azurite?.stop();
    },
  };
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
