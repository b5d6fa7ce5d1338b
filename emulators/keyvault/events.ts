import { randomUUID } from 'node:crypto';

/**
 * The Key Vault system events the emulator publishes. The shape is the Event
 * Grid schema envelope as a vault's system topic sends it; the Event Grid
 * emulator (`emulators/eventgrid/`) takes these from a sink and delivers them.
 */
export type KeyVaultEventType =
  | 'Microsoft.KeyVault.SecretNewVersionCreated'
  | 'Microsoft.KeyVault.SecretNearExpiry'
  | 'Microsoft.KeyVault.SecretExpired';

export interface KeyVaultSystemEvent {
  // the Event Grid schema envelope, as Key Vault's system topic emits it
  id: string;
  topic: string; // `/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<vaultName>`
  subject: string; // the secret name
  eventType: KeyVaultEventType;
  eventTime: string; // ISO
  data: {
    Id: string;
    VaultName: string;
    ObjectType: 'Secret';
    ObjectName: string;
    Version: string;
    NBF: number | null;
    EXP: number | null;
  };
  dataVersion: '1';
  metadataVersion: '1';
}

export type KeyVaultEventSink = (event: KeyVaultSystemEvent) => void;

/** Where a vault's events say they come from. */
export interface VaultEventSource {
  readonly vaultUrl: string;
  readonly vaultName: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
}

export function vaultTopic(source: VaultEventSource): string {
  return `/subscriptions/${source.subscriptionId}/resourceGroups/${source.resourceGroup}/providers/Microsoft.KeyVault/vaults/${source.vaultName}`;
}

export function buildKeyVaultEvent(
  source: VaultEventSource,
  eventType: KeyVaultEventType,
  secret: { name: string; version: string; nbf: number | undefined; exp: number | undefined },
  eventTime: Date,
): KeyVaultSystemEvent {
  return {
    id: randomUUID(),
    topic: vaultTopic(source),
    subject: secret.name,
    eventType,
    eventTime: eventTime.toISOString(),
    data: {
      Id: `${source.vaultUrl}/secrets/${secret.name}/${secret.version}`,
      VaultName: source.vaultName,
      ObjectType: 'Secret',
      ObjectName: secret.name,
      Version: secret.version,
      NBF: secret.nbf ?? null,
      EXP: secret.exp ?? null,
    },
    dataVersion: '1',
    metadataVersion: '1',
  };
}
