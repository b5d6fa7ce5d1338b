import { randomBytes, randomUUID } from 'node:crypto';

/** What the stand-in holds: the resources whose credentials Rotor rotates. Plain strings: it is a test double. */
export interface StorageAccountState {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  key1: string;
  key2: string;
  key1CreatedAt: string;
  key2CreatedAt: string;
}

export type EventGridResourceType = 'topics' | 'domains';

export interface EventGridTopicState {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly type: EventGridResourceType;
  readonly name: string;
  key1: string;
  key2: string;
}

export interface PasswordCredentialState {
  readonly keyId: string;
  readonly displayName: string | null;
  readonly hint: string;
  readonly secretText: string;
  readonly startDateTime: string;
  readonly endDateTime: string;
}

/** A certificate credential (Graph `keyCredential`): only its public part and dates; the stand-in keeps no key material. */
export interface KeyCredentialState {
  readonly keyId: string;
  readonly displayName: string | null;
  /** `AsymmetricX509Cert` for certificates. */
  readonly type: string;
  /** `Verify` for certificates an app signs client assertions with. */
  readonly usage: string;
  /** Base64 of the certificate thumbprint, as Graph lists it. */
  readonly customKeyIdentifier: string;
  readonly startDateTime: string;
  readonly endDateTime: string;
}

export interface ApplicationState {
  /** Object id. */
  readonly id: string;
  readonly appId: string;
  readonly displayName: string;
  passwordCredentials: PasswordCredentialState[];
  keyCredentials: KeyCredentialState[];
}

export interface StorageAccountSeed {
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  readonly name: string;
  readonly key1?: string;
  readonly key2?: string;
}

export interface EventGridTopicSeed {
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  readonly type?: EventGridResourceType;
  readonly name: string;
  readonly key1?: string;
  readonly key2?: string;
}

export interface PasswordSeed {
  readonly keyId?: string;
  readonly displayName?: string;
  readonly secretText?: string;
  readonly endDateTime?: string;
}

export interface KeyCredentialSeed {
  readonly keyId?: string;
  readonly displayName?: string;
  readonly startDateTime?: string;
  readonly endDateTime?: string;
}

export interface ApplicationSeed {
  readonly id?: string;
  readonly appId?: string;
  readonly displayName?: string;
  readonly passwords?: readonly PasswordSeed[];
  readonly certificates?: readonly KeyCredentialSeed[];
}

export const defaultSubscriptionId = '00000000-0000-0000-0000-00000000a2e0';
export const defaultResourceGroup = 'rg-rotor-local';

/** Storage keys are 64 random bytes, base64: what Azure hands out (88 characters). */
export const newStorageKey = (): string => randomBytes(64).toString('base64');
/** Event Grid keys are 32 random bytes, base64 (44 characters). */
export const newTopicKey = (): string => randomBytes(32).toString('base64');

/** Client secrets look like Entra's: 40 characters, a `Q~` marker after a 3-character hint. */
export function newClientSecret(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~';
  const bytes = randomBytes(37);
  const body = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
  return `${body.slice(0, 3)}8Q~${body.slice(3)}`.slice(0, 40);
}

export function passwordCredential(seed: PasswordSeed, now: Date): PasswordCredentialState {
  const secretText = seed.secretText ?? newClientSecret();
  return {
    keyId: seed.keyId ?? randomUUID(),
    displayName: seed.displayName ?? null,
    hint: secretText.slice(0, 3),
    secretText,
    startDateTime: now.toISOString(),
    endDateTime: seed.endDateTime ?? new Date(now.getTime() + 2 * 365 * 24 * 3600_000).toISOString(),
  };
}

/** A certificate credential; default validity one year, Entra's portal default for an uploaded certificate's own dates. */
export function keyCredential(seed: KeyCredentialSeed, now: Date): KeyCredentialState {
  return {
    keyId: seed.keyId ?? randomUUID(),
    displayName: seed.displayName ?? 'CN=rotor-stand-in',
    type: 'AsymmetricX509Cert',
    usage: 'Verify',
    customKeyIdentifier: randomBytes(20).toString('base64'),
    startDateTime: seed.startDateTime ?? now.toISOString(),
    endDateTime: seed.endDateTime ?? new Date(now.getTime() + 365 * 24 * 3600_000).toISOString(),
  };
}

export function storageAccount(seed: StorageAccountSeed): StorageAccountState {
  const now = new Date().toISOString();
  return {
    subscriptionId: seed.subscriptionId ?? defaultSubscriptionId,
    resourceGroup: seed.resourceGroup ?? defaultResourceGroup,
    name: seed.name,
    key1: seed.key1 ?? newStorageKey(),
    key2: seed.key2 ?? newStorageKey(),
    key1CreatedAt: now,
    key2CreatedAt: now,
  };
}

export function eventGridTopic(seed: EventGridTopicSeed): EventGridTopicState {
  return {
    subscriptionId: seed.subscriptionId ?? defaultSubscriptionId,
    resourceGroup: seed.resourceGroup ?? defaultResourceGroup,
    type: seed.type ?? 'topics',
    name: seed.name,
    key1: seed.key1 ?? newTopicKey(),
    key2: seed.key2 ?? newTopicKey(),
  };
}

export function application(seed: ApplicationSeed): ApplicationState {
  const now = new Date();
  return {
    id: seed.id ?? randomUUID(),
    appId: seed.appId ?? randomUUID(),
    displayName: seed.displayName ?? 'app',
    passwordCredentials: (seed.passwords ?? []).map((p) => passwordCredential(p, now)),
    keyCredentials: (seed.certificates ?? []).map((c) => keyCredential(c, now)),
  };
}

export function storageAccountId(a: { subscriptionId: string; resourceGroup: string; name: string }): string {
  return `/subscriptions/${a.subscriptionId}/resourceGroups/${a.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${a.name}`;
}

export function eventGridTopicId(t: { subscriptionId: string; resourceGroup: string; type: EventGridResourceType; name: string }): string {
  return `/subscriptions/${t.subscriptionId}/resourceGroups/${t.resourceGroup}/providers/Microsoft.EventGrid/${t.type}/${t.name}`;
}
