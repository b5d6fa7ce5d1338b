import type { TokenCredential } from '@azure/identity';
import type { ManagementTransportOptions } from '../azure-management/pipeline.js';
import { createEntraAppSecretRotator } from './entra-app-secret/index.js';
import { createEventGridTopicKeyRotator } from './eventgrid-topic-key/index.js';
import type { Rotator } from '../rotation/rotator.js';
import { createStorageAccountKeyRotator } from './storage-account-key/index.js';
import { createStorageSasRotator } from './storage-sas/index.js';

export interface AzureRotatorsDeps {
  /** `new DefaultAzureCredential({ managedIdentityClientId })` in Azure. */
  readonly credential: TokenCredential;
  /** Tenant of the app registrations the Entra rotator self-tests against. */
  readonly tenantId?: string;
  /** Public cloud by default; the local stand-in's URL in the local stack. */
  readonly endpoints?: { readonly arm?: string; readonly graph?: string; readonly authorityHost?: string };
  /** Blob endpoint of a storage account, when not `https://{name}.blob.core.windows.net` (Azurite). */
  readonly blobEndpoint?: (accountName: string) => string;
  readonly transport?: ManagementTransportOptions;
}

/** The four rotators of Azure-issued credentials, for the composition root (`createRotatorRegistry([...])`). */
export function createAzureRotators(deps: AzureRotatorsDeps): Rotator[] {
  const transport = deps.transport ?? {};
  return [
    createStorageAccountKeyRotator({
      credential: deps.credential,
      transport,
      ...(deps.endpoints?.arm === undefined ? {} : { armEndpoint: deps.endpoints.arm }),
      ...(deps.blobEndpoint === undefined ? {} : { blobEndpoint: deps.blobEndpoint }),
    }),
    createStorageSasRotator(),
    createEntraAppSecretRotator({
      credential: deps.credential,
      transport,
      ...(deps.tenantId === undefined ? {} : { tenantId: deps.tenantId }),
      ...(deps.endpoints?.graph === undefined ? {} : { graphEndpoint: deps.endpoints.graph }),
      ...(deps.endpoints?.authorityHost === undefined ? {} : { authorityHost: deps.endpoints.authorityHost }),
    }),
    createEventGridTopicKeyRotator({
      credential: deps.credential,
      transport,
      ...(deps.endpoints?.arm === undefined ? {} : { armEndpoint: deps.endpoints.arm }),
    }),
  ];
}
