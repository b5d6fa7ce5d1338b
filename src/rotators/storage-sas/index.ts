import { ContainerClient, generateBlobSASQueryParameters, SASProtocol, StorageSharedKeyCredential, type SignedIdentifier } from '@azure/storage-blob';
import { z } from 'zod';
import { Strategy } from '../../rotation/model.js';
import type { RotationPolicy } from '../../rotation/policy-types.js';
import { systemClock, type Clock } from '../../rotation/ports.js';
import { SecretValue } from '../../secrecy/secret-value.js';
import { secretNameSchema } from '../../keyvault/secret-ref.js';
import { callProvider } from '../azure-errors.js';
import { isRotatorError, RotatorError, RotatorErrorCode } from '../../rotation/rotator-errors.js';
import { problemsOf, readTags } from '../policy-tags.js';
import type { ConfigReading, PolicyProblem, Rotator, RotatorContext } from '../../rotation/rotator.js';
import { probeSas } from './probe.js';
import { accountKeyFrom, parseBlobTarget, policyIdFor, policyPrefix, signedIdentifierOf, type BlobTarget } from './target.js';

export const storageSasKind = 'storage-sas';

/** Containers hold at most five stored access policies. */
const maxStoredPolicies = 5;
/** Start times are backdated so a consumer whose clock runs a little behind is not refused. */
const clockSkewMs = 5 * 60_000;

export interface StorageSasRotatorDeps {
  readonly clock?: Clock;
}

interface SasConfig {
  readonly target: BlobTarget;
  readonly permissions: string;
  readonly keySecret: string;
  readonly format: 'url' | 'token';
}

const tagShape = {
  'rotor-sas-permissions': z
    .string()
    .regex(/^[racwdl]{1,6}$/, 'must be letters from "racwdl" (read, add, create, write, delete, list)')
    .refine((v) => new Set(v).size === v.length, 'must not repeat a letter')
    .optional(),
  'rotor-sas-key-secret': secretNameSchema.describe('Key Vault secret holding the account key or connection string'),
  'rotor-sas-format': z.enum(['url', 'token'], { error: 'must be "url" (the full SAS URL) or "token" (the query string only)' }).default('url'),
};

/**
 * The valet key pattern: mints a service SAS for a container or one blob,
 * bound to a stored access policy on the container (`rotor.{secret}.{rotation}`)
 * that carries the permissions and the expiry. Revoking is real: removing the
 * policy kills every SAS bound to it at once. Each rotation adds a policy and
 * prunes this secret's older ones except the one the secret holds now, so the
 * previous SAS keeps working until the next rotation (alternating); slot = policy id.
 *
 * Self-test: one operation the permissions allow (list, read, stage a block,
 * guarded delete) must pass, and every probe-able one they do not grant must be
 * refused (with all granted: an operation outside the SAS's scope).
 *
 * Permissions: the account key, read from the Key Vault secret named by
 * `rotor-sas-key-secret` (Key Vault Secrets User on it; a connection string
 * kept by the `storage-account-key` rotator works). Stored access policies and
 * service SAS are signed with SharedKey; Entra roles cannot set them. When the
 * account key the SAS is signed with is regenerated, the SAS stops working:
 * rotate the account key less often than the SAS, or re-mint after it.
 * Azure applies a policy change within 30 seconds: keep `rotor-grace` above that.
 */
export function createStorageSasRotator(deps: StorageSasRotatorDeps = {}): Rotator<SasConfig> {
  const clock = deps.clock ?? systemClock;

  const readConfig = (policy: RotationPolicy): ConfigReading<SasConfig> => {
    const tags = readTags(tagShape, policy.tags);
    const problems: PolicyProblem[] = [...problemsOf(tags)];
    const target = policy.target === undefined ? undefined : parseBlobTarget(policy.target);
    if (target === undefined) {
      problems.push({
        tag: 'rotor-target',
        message: 'must be a container or blob URL without a query string, such as https://acct.blob.core.windows.net/container[/blob]',
      });
    }
    if (problems.length > 0 || target === undefined || !tags.ok) return { ok: false, problems };
    const permissions = tags.value['rotor-sas-permissions'] ?? (target.blobName === undefined ? 'rl' : 'r');
    if (target.blobName !== undefined && permissions.includes('l')) {
      return { ok: false, problems: [{ tag: 'rotor-sas-permissions', message: '"l" (list) applies to containers; this target is a blob' }] };
    }
    if (!/[rlwd]/.test(permissions)) {
      return { ok: false, problems: [{ tag: 'rotor-sas-permissions', message: 'must include r, l, w or d, so the self-test has an operation to try' }] };
    }
    return { ok: true, config: { target, permissions: canonicalPermissions(permissions), keySecret: tags.value['rotor-sas-key-secret'], format: tags.value['rotor-sas-format'] } };
  };

  const call = callProvider;

  const sharedKey = async (context: RotatorContext, config: SasConfig): Promise<StorageSharedKeyCredential> => {
    let stored: SecretValue;
    try {
      stored = await context.readSecret(config.keySecret);
    } catch (error) {
      if (isRotatorError(error)) throw error;
      const transient = typeof error === 'object' && error !== null && 'transient' in error && error.transient === true;
      throw new RotatorError(
        transient ? RotatorErrorCode.ProviderUnavailable : RotatorErrorCode.InvalidConfiguration,
        `could not read the account key secret "${config.keySecret}" named by rotor-sas-key-secret`,
        { cause: error },
      );
    }
    const parsed = accountKeyFrom(stored);
    if (parsed === undefined) {
      throw new RotatorError(RotatorErrorCode.InvalidConfiguration, `secret "${config.keySecret}" holds neither an account key nor a connection string with AccountKey`);
    }
    if (parsed.accountName !== undefined && parsed.accountName !== config.target.accountName) {
      throw new RotatorError(
        RotatorErrorCode.InvalidConfiguration,
        `secret "${config.keySecret}" is for account ${parsed.accountName}, but rotor-target is in account ${config.target.accountName}`,
      );
    }
    return new StorageSharedKeyCredential(config.target.accountName, parsed.key.reveal());
  };

  const containerOf = (config: SasConfig, credential: StorageSharedKeyCredential) =>
    new ContainerClient(`${config.target.accountUrl}/${encodeURIComponent(config.target.containerName)}`, credential, { retryOptions: { maxTries: 3 } });

  const sasFor = (config: SasConfig, credential: StorageSharedKeyCredential, identifier: string): SecretValue => {
    const query = generateBlobSASQueryParameters(
      {
        containerName: config.target.containerName,
        ...(config.target.blobName === undefined ? {} : { blobName: config.target.blobName }),
        identifier,
        protocol: config.target.url.startsWith('https:') ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
      },
      credential,
    ).toString();
    return SecretValue.from(config.format === 'url' ? `${config.target.url}?${query}` : query);
  };

  /** Rewrites the container's policies; conditional on the last-modified time read, so a concurrent change is a retry, not a loss. */
  const writePolicies = async (context: RotatorContext, config: SasConfig, container: ContainerClient, acl: Awaited<ReturnType<ContainerClient['getAccessPolicy']>>, identifiers: SignedIdentifier[]) => {
    await call(`set stored access policies on ${config.target.containerName}`, () =>
      container.setAccessPolicy(acl.blobPublicAccess, identifiers, {
        ...(context.signal === undefined ? {} : { abortSignal: context.signal }),
        ...(acl.lastModified === undefined ? {} : { conditions: { ifUnmodifiedSince: acl.lastModified } }),
      }),
    );
  };

  const sasQueryOf = (config: SasConfig, value: SecretValue): string | undefined => {
    const text = value.reveal().trim();
    if (config.format === 'token' && !text.includes('?')) return text.replace(/^\?/, '');
    const at = text.indexOf('?');
    return at < 0 ? undefined : text.slice(at + 1);
  };

  return {
    kind: storageSasKind,
    strategies: [Strategy.Alternating],

    readConfig,

    async prepare(context) {
      const { config } = context;
      const credential = await sharedKey(context, config);
      const container = containerOf(config, credential);
      const abort = context.signal === undefined ? {} : { abortSignal: context.signal };
      const acl = await call(`get stored access policies of ${config.target.containerName}`, () => container.getAccessPolicy(abort));

      const id = policyIdFor(context.secret, context.rotationId);
      const prefix = policyPrefix(context.secret);
      const currentId = signedIdentifierOf(context.current.value);
      const keep = acl.signedIdentifiers.filter((s) => !s.id.startsWith(prefix) || s.id === currentId || s.id === id);
      const pruned = acl.signedIdentifiers.filter((s) => !keep.includes(s));
      const exists = keep.some((s) => s.id === id);
      if (!exists) {
        const now = clock.now().getTime();
        keep.push({
          id,
          accessPolicy: { startsOn: new Date(now - clockSkewMs), expiresOn: new Date(now + context.policy.validityMs), permissions: config.permissions },
        });
      }
      if (keep.length > maxStoredPolicies) {
        throw new RotatorError(
          RotatorErrorCode.ProviderRejected,
          `container ${config.target.containerName} already has ${maxStoredPolicies} stored access policies; free one for Rotor`,
        );
      }
      if (!exists || pruned.length > 0) await writePolicies(context, config, container, acl, keep);
      context.log.info(exists ? 'stored access policy of this rotation already exists; reusing it' : 'added a stored access policy', {
        container: config.target.containerName,
        policyId: id,
        pruned: pruned.map((s) => s.id),
        attempt: context.attempt,
      });
      // The SAS carries only the policy id: the same policy and key give the same SAS, so a replay is harmless.
      return { value: sasFor(config, credential, id), slot: id, refs: { policyId: id, container: config.target.containerName } };
    },

    async test(context, value) {
      const { config } = context;
      const query = sasQueryOf(config, value);
      if (query === undefined || !new URLSearchParams(query).has('sig')) return { ok: false, reason: 'the value is not a SAS URL or token' };
      return call(`self-test of the SAS for ${config.target.containerName}`, () => probeSas(config.target, query, config.permissions, context.signal));
    },

    /** Rollback: remove the policy this rotation added, once the previous SAS's policy is known to be there. */
    async restore(context, previous, prepared) {
      const { config } = context;
      const credential = await sharedKey(context, config);
      const container = containerOf(config, credential);
      const acl = await call(`get stored access policies of ${config.target.containerName}`, () =>
        container.getAccessPolicy(context.signal === undefined ? {} : { abortSignal: context.signal }),
      );
      const previousId = signedIdentifierOf(previous.value);
      if (previousId !== undefined && !acl.signedIdentifiers.some((s) => s.id === previousId)) {
        throw new RotatorError(
          RotatorErrorCode.ProviderRejected,
          `rollback cannot restore the SAS for ${config.target.containerName}: its stored access policy is gone; the new one is kept`,
        );
      }
      const id = prepared.refs?.policyId ?? policyIdFor(context.secret, context.rotationId);
      const rest = acl.signedIdentifiers.filter((s) => s.id !== id);
      if (rest.length === acl.signedIdentifiers.length) return;
      await writePolicies(context, config, container, acl, rest);
      context.log.info('removed the stored access policy of the rolled-back rotation', { container: config.target.containerName, policyId: id });
    },

    /** Revoke-after: remove the superseded SAS's stored access policy; every SAS bound to it stops working. */
    async revoke(context, superseded) {
      const { config } = context;
      const id = signedIdentifierOf(superseded.value) ?? superseded.slot;
      if (id === undefined) {
        context.log.warn('superseded SAS is not bound to a stored access policy: it cannot be revoked and lasts until its own expiry', {
          container: config.target.containerName,
        });
        return;
      }
      if (id === signedIdentifierOf(context.current.value)) {
        throw new RotatorError(RotatorErrorCode.InvalidConfiguration, `refusing to remove policy ${id}: the latest version's SAS is bound to it`);
      }
      const credential = await sharedKey(context, config);
      const container = containerOf(config, credential);
      const acl = await call(`get stored access policies of ${config.target.containerName}`, () =>
        container.getAccessPolicy(context.signal === undefined ? {} : { abortSignal: context.signal }),
      );
      const rest = acl.signedIdentifiers.filter((s) => s.id !== id);
      if (rest.length === acl.signedIdentifiers.length) {
        context.log.info('superseded stored access policy is already gone; nothing to revoke', { container: config.target.containerName, policyId: id });
        return;
      }
      await writePolicies(context, config, container, acl, rest);
      context.log.info('revoked the superseded SAS by removing its stored access policy', { container: config.target.containerName, policyId: id });
    },
  };
}

/** Permission letters in the order the service expects (racwdl). */
function canonicalPermissions(permissions: string): string {
  return [...'racwdl'].filter((p) => permissions.includes(p)).join('');
}
