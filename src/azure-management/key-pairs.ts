import { z } from 'zod';
import type { ArmClient } from './arm-client.js';
import { ManagementApiError, ManagementErrorCode } from './errors.js';
import type { ArmResourceId } from './resource-id.js';
import { SecretValue } from '../secrecy/secret-value.js';

/**
 * The two access keys of a storage account or an Event Grid topic/domain, as
 * ARM lists and regenerates them. Values arrive wrapped in `SecretValue` the
 * moment they are parsed, so nothing downstream can print them.
 */
export const KeyName = { Key1: 'key1', Key2: 'key2' } as const;
export type KeyName = (typeof KeyName)[keyof typeof KeyName];

export interface KeyPair {
  readonly key1: SecretValue;
  readonly key2: SecretValue;
}

export interface KeyPairApi {
  listKeys(resource: ArmResourceId, signal?: AbortSignal): Promise<KeyPair>;
  /** Regenerates one key and returns both as they are afterwards. */
  regenerateKey(resource: ArmResourceId, keyName: KeyName, signal?: AbortSignal): Promise<KeyPair>;
}

/** Microsoft.Storage api-version Rotor speaks (stable; regenerateKey and listKeys answer 200 synchronously). */
export const storageApiVersion = '2025-01-01';
/** Microsoft.EventGrid api-version Rotor speaks (stable; regenerateKey is long-running: 200 or 202). */
export const eventGridApiVersion = '2025-02-15';

// StorageAccountListKeysResult: { keys: [{ keyName, value, permissions, creationTime }] } (kerb1/kerb2 only with $expand=kerb).
const storageKeys = z.object({
  keys: z.array(z.object({ keyName: z.string(), value: z.string().min(1) }).loose()),
});

// TopicSharedAccessKeys / DomainSharedAccessKeys: { key1, key2 }.
const eventGridKeys = z.object({ key1: z.string().min(1), key2: z.string().min(1) });

function unexpected(what: string): ManagementApiError {
  return new ManagementApiError(ManagementErrorCode.UnexpectedResponse, `${what} returned a body that is not the documented key list`);
}

function storagePair(what: string, body: unknown): KeyPair {
  const parsed = storageKeys.safeParse(body);
  if (!parsed.success) throw unexpected(what);
  const find = (name: KeyName) => parsed.data.keys.find((k) => k.keyName.toLowerCase() === name)?.value;
  const key1 = find(KeyName.Key1);
  const key2 = find(KeyName.Key2);
  if (key1 === undefined || key2 === undefined) throw unexpected(what);
  return { key1: SecretValue.from(key1), key2: SecretValue.from(key2) };
}

function eventGridPair(what: string, body: unknown): KeyPair {
  const parsed = eventGridKeys.safeParse(body);
  if (!parsed.success) throw unexpected(what);
  return { key1: SecretValue.from(parsed.data.key1), key2: SecretValue.from(parsed.data.key2) };
}

/**
 * Storage account keys: `POST .../storageAccounts/{name}/listKeys` and
 * `POST .../regenerateKey` with `{ keyName }`. Needs
 * `Microsoft.Storage/storageAccounts/listkeys/action` and `.../regeneratekey/action`
 * (built-in role: Storage Account Key Operator Service Role).
 */
export function createStorageAccountKeyApi(arm: ArmClient): KeyPairApi {
  return {
    async listKeys(resource, signal) {
      return storagePair('listKeys', await arm.postAction(resource.id, 'listKeys', storageApiVersion, undefined, signal));
    },
    async regenerateKey(resource, keyName, signal) {
      const body = await arm.postAction(resource.id, 'regenerateKey', storageApiVersion, { keyName }, signal);
      // The documented answer carries both keys; read them again if a proxy stripped the body.
      return body === undefined ? this.listKeys(resource, signal) : storagePair('regenerateKey', body);
    },
  };
}

/**
 * Event Grid topic or domain keys: `POST .../{topics|domains}/{name}/listKeys`
 * and `.../regenerateKey` with `{ keyName }` (long-running: a 202 is followed,
 * then the keys are listed). Needs `Microsoft.EventGrid/{topics|domains}/listKeys/action`
 * and `.../regenerateKey/action` (built-in role: EventGrid Contributor, or a custom role with exactly these).
 */
export function createEventGridKeyApi(arm: ArmClient): KeyPairApi {
  return {
    async listKeys(resource, signal) {
      return eventGridPair('listKeys', await arm.postAction(resource.id, 'listKeys', eventGridApiVersion, undefined, signal));
    },
    async regenerateKey(resource, keyName, signal) {
      const body = await arm.postAction(resource.id, 'regenerateKey', eventGridApiVersion, { keyName }, signal);
      // After a 202 the final GET may carry the keys or nothing; listKeys is the source of truth either way.
      return body === undefined ? this.listKeys(resource, signal) : eventGridPair('regenerateKey', body);
    },
  };
}
