import type { TokenCredential } from '@azure/identity';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { describeRestFailure, readRestError, RestFailureKind } from '../../azure/rest-error.js';
import { z } from 'zod';
import { createArmClient, type ArmClientOptions } from '../../azure-management/arm-client.js';
import { createStorageAccountKeyApi, type KeyPairApi } from '../../azure-management/key-pairs.js';
import { parseStorageAccountId } from '../../azure-management/resource-id.js';
import { SecretValue } from '../../secrecy/secret-value.js';
import { createKeyPairRotator, type KeyPairTarget } from '../alternating-keys.js';
import { problemsOf, readTags } from '../policy-tags.js';
import type { Rotator } from '../../rotation/rotator.js';

export const storageAccountKeyKind = 'storage-account-key';

export const StorageKeyFormat = { Key: 'key', ConnectionString: 'connection-string' } as const;
export type StorageKeyFormat = (typeof StorageKeyFormat)[keyof typeof StorageKeyFormat];

export interface StorageAccountKeyRotatorDeps {
  /** `DefaultAzureCredential` in Azure; a fake in tests. */
  readonly credential: TokenCredential;
  /** ARM endpoint; default `https://management.azure.com`. */
  readonly armEndpoint?: string;
  /** Blob endpoint of an account for the self-test and connection strings; default `https://{name}.blob.{suffix}`. */
  readonly blobEndpoint?: (accountName: string) => string;
  /** Storage DNS suffix of the cloud; default `core.windows.net`. */
  readonly endpointSuffix?: string;
  /** Transport knobs (TLS trust for a local stand-in, retries, polling). */
  readonly transport?: Omit<ArmClientOptions, 'credential' | 'endpoint'>;
  /** Replaces the ARM key API (tests of failure paths); default: ARM via `credential`. */
  readonly api?: KeyPairApi;
}

interface StorageKeyConfig extends KeyPairTarget {
  readonly accountName: string;
  readonly format: StorageKeyFormat;
}

const tagShape = {
  'rotor-storage-format': z
    .enum([StorageKeyFormat.Key, StorageKeyFormat.ConnectionString], { error: 'must be "key" or "connection-string"' })
    .default(StorageKeyFormat.Key),
};

/** `AccountKey=` of a connection string, or the value itself when it is a bare key. */
function accountKeyOf(value: SecretValue): SecretValue | undefined {
  const text = value.reveal();
  if (!/AccountKey=/i.test(text)) return text.trim() === '' ? undefined : value;
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim().toLowerCase() === 'accountkey') return SecretValue.from(part.slice(at + 1).trim());
  }
  return undefined;
}

/**
 * Rotates a storage account's access keys, alternating key1/key2 (ARM
 * `regenerateKey` then `listKeys`). The secret holds the key or a connection
 * string (`rotor-storage-format`). Self-test: a SharedKey-signed Get Blob
 * Service Properties call with the candidate key.
 *
 * Permissions: `Microsoft.Storage/storageAccounts/listkeys/action` and
 * `Microsoft.Storage/storageAccounts/regeneratekey/action` on the account —
 * the built-in "Storage Account Key Operator Service Role"
 * (81a9662b-bebf-436f-a333-f67b29880f12), scoped to the account. The self-test
 * needs nothing more: it authenticates with the key itself.
 *
 * Regenerating a key invalidates every account SAS and service SAS signed
 * with it: revoke-after, and the next rotation, end those too.
 */
export function createStorageAccountKeyRotator(deps: StorageAccountKeyRotatorDeps): Rotator<StorageKeyConfig> {
  const api =
    deps.api ?? createStorageAccountKeyApi(createArmClient({ ...deps.transport, credential: deps.credential, ...(deps.armEndpoint === undefined ? {} : { endpoint: deps.armEndpoint }) }));
  const suffix = deps.endpointSuffix ?? 'core.windows.net';
  const blobEndpoint = deps.blobEndpoint ?? ((name: string) => `https://${name}.blob.${suffix}`);

  return createKeyPairRotator<StorageKeyConfig>({
    kind: storageAccountKeyKind,
    api,
    parse(policy) {
      const resource = policy.target === undefined ? undefined : parseStorageAccountId(policy.target);
      const tags = readTags(tagShape, policy.tags);
      const problems = [
        ...(resource === undefined
          ? [{ tag: 'rotor-target', message: 'must be a storage account resource id: /subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}' }]
          : []),
        ...problemsOf(tags),
      ];
      if (resource === undefined || !tags.ok || problems.length > 0) return { ok: false, problems };
      return { ok: true, config: { resource, label: `storage account ${resource.name}`, accountName: resource.name, format: tags.value['rotor-storage-format'] } };
    },
    format(config, key) {
      if (config.format === StorageKeyFormat.Key) return key;
      const endpoint = deps.blobEndpoint === undefined ? `EndpointSuffix=${suffix}` : `BlobEndpoint=${blobEndpoint(config.accountName)}`;
      const protocol = blobEndpoint(config.accountName).startsWith('http:') ? 'http' : 'https';
      return SecretValue.from(`DefaultEndpointsProtocol=${protocol};AccountName=${config.accountName};AccountKey=${key.reveal()};${endpoint}`);
    },
    extractKey: (_config, value) => accountKeyOf(value),
    async selfTest(context, key) {
      const { config } = context;
      const client = new BlobServiceClient(blobEndpoint(config.accountName), new StorageSharedKeyCredential(config.accountName, key.reveal()), {
        retryOptions: { maxTries: 2 },
      });
      try {
        await client.getProperties(context.signal === undefined ? {} : { abortSignal: context.signal });
        return { ok: true };
      } catch (error) {
        const failure = readRestError(error);
        if (failure?.kind === RestFailureKind.PermissionDenied) {
          return { ok: false, reason: `${config.label} refused SharedKey authentication with this key (${describeRestFailure(failure)})` };
        }
        throw error;
      }
    },
  });
}
