import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';

export interface AzureCredentialOptions {
  /** Client id of Rotor's user-assigned managed identity (`AZURE_CLIENT_ID`, set by infra/ in Azure). */
  readonly managedIdentityClientId?: string | undefined;
}

/**
 * The credential of every Azure data-plane and management call.
 *
 * In Azure the app settings name the user-assigned identity, and Rotor asks
 * the managed identity endpoint for it directly: `DefaultAzureCredential`
 * would first try the environment, workload identity and others in turn (each
 * a failed attempt, and a chance to pick up a credential nobody meant), and
 * its managed identity step is the same call in the end.
 * Without a client id (a developer's machine) the default chain applies:
 * Azure CLI, Azure Developer CLI, environment.
 */
export function createAzureCredential(options: AzureCredentialOptions = {}): TokenCredential {
  return options.managedIdentityClientId === undefined
    ? new DefaultAzureCredential()
    : new ManagedIdentityCredential({ clientId: options.managedIdentityClientId });
}
