import type { StoredSecret, StoredVersion } from './model.js';

/** What Key Vault puts in `attributes`: times in Unix seconds. */
export interface WireAttributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  recoveryLevel: string;
  recoverableDays: number;
}

export interface WireSecretBundle {
  value?: string;
  id: string;
  contentType?: string;
  tags?: Record<string, string>;
  attributes: WireAttributes;
}

export interface WireDeletedSecretBundle extends WireSecretBundle {
  recoveryId: string;
  deletedDate: number;
  scheduledPurgeDate: number;
}

export interface WirePage<T> {
  value: T[];
  nextLink: string | null;
}

/** Vault-wide facts that appear in every bundle. */
export interface BundleContext {
  readonly vaultUrl: string;
  readonly recoveryLevel: string;
  readonly recoverableDays: number;
}

export const secretBaseId = (ctx: BundleContext, secret: StoredSecret): string => `${ctx.vaultUrl}/secrets/${secret.name}`;

function attributes(ctx: BundleContext, v: StoredVersion): WireAttributes {
  return {
    enabled: v.enabled,
    ...(v.nbf === undefined ? {} : { nbf: v.nbf }),
    ...(v.exp === undefined ? {} : { exp: v.exp }),
    created: v.created,
    updated: v.updated,
    recoveryLevel: ctx.recoveryLevel,
    recoverableDays: ctx.recoverableDays,
  };
}

/**
 * One version as Key Vault shows it. The value only travels on set and get;
 * update, delete, recover, restore and every list leave it out.
 */
export function toBundle(
  ctx: BundleContext,
  secret: StoredSecret,
  v: StoredVersion,
  shape: { withValue: boolean; withVersion?: boolean },
): WireSecretBundle {
  return {
    ...(shape.withValue ? { value: v.value } : {}),
    id: shape.withVersion === false ? secretBaseId(ctx, secret) : `${secretBaseId(ctx, secret)}/${v.version}`,
    ...(v.contentType === undefined ? {} : { contentType: v.contentType }),
    ...(v.tags === undefined ? {} : { tags: { ...v.tags } }),
    attributes: attributes(ctx, v),
  };
}

export function toDeletedBundle(
  ctx: BundleContext,
  secret: StoredSecret,
  v: StoredVersion,
  shape: { withVersion: boolean },
): WireDeletedSecretBundle {
  return {
    recoveryId: `${ctx.vaultUrl}/deletedsecrets/${secret.name}`,
    deletedDate: secret.deletedDate ?? 0,
    scheduledPurgeDate: secret.scheduledPurgeDate ?? 0,
    ...toBundle(ctx, secret, v, { withValue: false, withVersion: shape.withVersion }),
  };
}
