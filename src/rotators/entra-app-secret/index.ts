import type { TokenCredential } from '@azure/identity';
import { z } from 'zod';
import { createClientSecretCheck, type CheckClientSecret } from '../../azure-management/client-secret-check.js';
import { createGraphApplications, type ApplicationCredentials, type GraphApplications, type PasswordCredentialInfo } from '../../azure-management/graph-applications.js';
import type { ManagementTransportOptions } from '../../azure-management/pipeline.js';
import { Strategy } from '../../rotation/model.js';
import type { RotationPolicy } from '../../rotation/policy-types.js';
import { systemClock, type Clock } from '../../rotation/ports.js';
import { secretFingerprint, type SecretRef } from '../../keyvault/secret-ref.js';
import { callProvider } from '../azure-errors.js';
import { RotatorError, RotatorErrorCode } from '../../rotation/rotator-errors.js';
import { problemsOf, readTags } from '../policy-tags.js';
import type { ConfigReading, CurrentCredential, PolicyProblem, Rotator, RotatorContext } from '../../rotation/rotator.js';

export const entraAppSecretKind = 'entra-app-secret';

/**
 * What every client secret Rotor makes for one Key Vault secret starts with:
 * `rotor:{hash}:`, the hash (10 hex characters of SHA-256 over vault origin and
 * lower-cased secret name) standing for the Key Vault secret. It lets prepare
 * prune this secret's older client secrets without touching those of another
 * Key Vault secret rotating the same app, or any made by hand.
 */
export function passwordDisplayNamePrefix(secret: SecretRef): string {
  return `rotor:${secretFingerprint(secret)}:`;
}

/**
 * Display name Rotor gives a client secret: `rotor:{secret hash}:{rotationId}`
 * (under 60 characters). The rotation id lets a replay find what an earlier
 * attempt made; the secret hash, which Key Vault secret it belongs to.
 */
export function passwordDisplayName(secret: SecretRef, rotationId: string): string {
  return `${passwordDisplayNamePrefix(secret)}${rotationId}`;
}

/**
 * The name releases before the secret hash gave (`rotor:{rotationId}`). Still
 * recognised as this rotation's own, so a rotation begun before an upgrade and
 * replayed after it cleans up what its first attempt made. It names no Key
 * Vault secret, so such secrets are never pruned as older ones.
 */
function legacyPasswordDisplayName(rotationId: string): string {
  return `rotor:${rotationId}`;
}

export interface EntraAppSecretRotatorDeps {
  /** `DefaultAzureCredential` in Azure (Graph token); a fake in tests. */
  readonly credential: TokenCredential;
  /** Tenant of the app registrations, for the self-test; a secret's `rotor-entra-tenant` tag overrides it. */
  readonly tenantId?: string;
  /** Graph endpoint; default `https://graph.microsoft.com`. */
  readonly graphEndpoint?: string;
  /** Identity platform; default `https://login.microsoftonline.com`. */
  readonly authorityHost?: string;
  readonly transport?: ManagementTransportOptions;
  readonly clock?: Clock;
  /** Replace the Graph calls or the token check (tests of failure paths). */
  readonly graph?: GraphApplications;
  readonly checkClientSecret?: CheckClientSecret;
}

const guid = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const tagShape = {
  'rotor-entra-tenant': z
    .string()
    .regex(/^([0-9a-fA-F-]{36}|[a-zA-Z0-9.-]+\.[a-zA-Z]{2,})$/, 'must be a tenant id (GUID) or a verified domain such as contoso.onmicrosoft.com')
    .optional(),
};

interface AppSecretConfig {
  readonly appId: string;
  readonly tenantId: string;
}

/**
 * Rotates a client secret of an Entra ID app registration. Graph generates
 * the secret: `addPassword` (display name `rotor:{secret hash}:{rotationId}`,
 * end date = now + validity) returns its text once, and the engine stores it
 * at once. The old secret keeps working through verify and rollback, so the
 * strategy is alternating; the slot is the new secret's key id.
 *
 * Older secrets go at the next rotation, as an alternating key's slot is
 * regenerated: once the new secret exists, prepare removes every other secret
 * Rotor made for this Key Vault secret except the one the current version
 * holds. So after rotation N completes the app holds the secrets of N-1 and N
 * (plus any made by hand or for other Key Vault secrets). Revoke-after removes
 * the superseded one earlier (`removePassword` with its key id).
 *
 * Idempotence (I4): prepare first removes any secret an earlier attempt of the
 * same rotation created (found by display name), and rollback removes them
 * all, so a crash at any point leaves no orphaned client secrets. The prune
 * keeps the secret the current version holds, which a replay reads the same
 * (the engine passes the version recorded at begin), so a replay never removes
 * the credential in use.
 *
 * Self-test: an OAuth 2.0 client credentials token request with the secret.
 * A new secret can take a short while to replicate; the engine's verify step
 * retries with backoff until its deadline.
 *
 * Permissions: Microsoft Graph application permission
 * `Application.ReadWrite.OwnedBy`, with Rotor's managed identity added as an
 * owner of each application it rotates (`Application.ReadWrite.All` works but
 * reaches every app in the tenant).
 */
export function createEntraAppSecretRotator(deps: EntraAppSecretRotatorDeps): Rotator<AppSecretConfig> {
  const graph =
    deps.graph ??
    createGraphApplications({ ...deps.transport, credential: deps.credential, ...(deps.graphEndpoint === undefined ? {} : { endpoint: deps.graphEndpoint }) });
  const checkClientSecret =
    deps.checkClientSecret ?? createClientSecretCheck({ ...deps.transport, ...(deps.authorityHost === undefined ? {} : { authorityHost: deps.authorityHost }) });
  const clock = deps.clock ?? systemClock;

  const readConfig = (policy: RotationPolicy): ConfigReading<AppSecretConfig> => {
    const tags = readTags(tagShape, policy.tags);
    const problems: PolicyProblem[] = [...problemsOf(tags)];
    const appId = policy.target?.trim();
    if (appId === undefined || !guid.test(appId)) {
      problems.push({ tag: 'rotor-target', message: 'must be the application (client) id of the app registration, a GUID' });
    }
    const tenantId = (tags.ok ? tags.value['rotor-entra-tenant'] : undefined) ?? deps.tenantId;
    if (tags.ok && tenantId === undefined) {
      problems.push({ tag: 'rotor-entra-tenant', message: 'is required: Rotor has no default tenant configured' });
    }
    if (problems.length > 0 || appId === undefined || tenantId === undefined) return { ok: false, problems };
    return { ok: true, config: { appId: appId.toLowerCase(), tenantId } };
  };

  const call = callProvider;

  const removeAll = async (context: RotatorContext, config: AppSecretConfig, credentials: readonly PasswordCredentialInfo[], why: string): Promise<void> => {
    for (const credential of credentials) {
      await call(`removePassword on app ${config.appId}`, () => graph.removePassword(config.appId, credential.keyId, context.signal));
      context.log.info(why, { appId: config.appId, keyId: credential.keyId });
    }
  };

  /**
   * The key id of the client secret a stored value belongs to: the slot the
   * engine recorded, the samples' `CredentialId` tag, or — for a secret set by
   * hand — the one credential whose hint (first three characters) matches.
   * `gone`: no credential has that hint any more; `ambiguous`: several do.
   */
  const keyIdOf = (
    credential: CurrentCredential,
    app: ApplicationCredentials,
    exclude: ReadonlySet<string>,
  ): { keyId: string } | { unknown: 'gone' | 'ambiguous' } => {
    const recorded = [credential.slot, credential.tags['rotor-slot'], credential.tags.CredentialId].find((v) => v !== undefined && guid.test(v));
    if (recorded !== undefined) return { keyId: recorded.toLowerCase() };
    const hint = credential.value.reveal().slice(0, 3);
    const matches = app.passwordCredentials.filter((p) => p.hint === hint && !exclude.has(p.keyId.toLowerCase()));
    if (matches.length === 1 && matches[0] !== undefined) return { keyId: matches[0].keyId.toLowerCase() };
    return { unknown: matches.length === 0 ? 'gone' : 'ambiguous' };
  };

  const present = (app: ApplicationCredentials, keyId: string): boolean => app.passwordCredentials.some((p) => p.keyId.toLowerCase() === keyId);

  /** Does a client secret carry this rotation's display name (current or pre-upgrade form)? */
  const markerOf = (context: RotatorContext): ((p: PasswordCredentialInfo) => boolean) => {
    const names = new Set([passwordDisplayName(context.secret, context.rotationId), legacyPasswordDisplayName(context.rotationId)]);
    return (p) => p.displayName !== undefined && names.has(p.displayName);
  };

  /**
   * The key id of the client secret the current version holds, only when that
   * is certain: found (slot, tag or hint), present on the app, and its hint
   * agrees with the value. Otherwise why not, for the log.
   */
  const inUseKeyId = (current: CurrentCredential, app: ApplicationCredentials, added: string): { keyId: string } | { unknown: string } => {
    const found = keyIdOf(current, app, new Set([added]));
    if ('unknown' in found) {
      return { unknown: found.unknown === 'gone' ? 'no client secret matches the current value' : 'several client secrets share the current value\'s hint' };
    }
    const credential = app.passwordCredentials.find((p) => p.keyId.toLowerCase() === found.keyId);
    if (credential === undefined) return { unknown: `the recorded key id ${found.keyId} is not on the app` };
    if (credential.hint !== undefined && credential.hint !== current.value.reveal().slice(0, 3)) {
      return { unknown: `the recorded key id ${found.keyId} belongs to another client secret than the current value` };
    }
    return { keyId: found.keyId };
  };

  /**
   * After the new secret exists: remove the client secrets Rotor made for this
   * Key Vault secret other than the one in use and the new one — what earlier
   * rotations left, as an alternating key's old slot is regenerated. The one in
   * use stays through verify and rollback. When it cannot be identified,
   * nothing goes: removing the credential consumers hold is worse than a
   * leftover that expires at its end date.
   */
  const pruneSuperseded = async (
    context: RotatorContext,
    config: AppSecretConfig,
    app: ApplicationCredentials,
    added: string,
    isThisRotations: (p: PasswordCredentialInfo) => boolean,
  ): Promise<void> => {
    const prefix = passwordDisplayNamePrefix(context.secret);
    const older = app.passwordCredentials.filter((p) => p.displayName?.startsWith(prefix) === true && !isThisRotations(p));
    if (older.length === 0) return;
    const inUse = inUseKeyId(context.current, app, added);
    if ('unknown' in inUse) {
      context.log.warn('kept the older client secrets of this Key Vault secret: cannot tell which one the current version holds', {
        appId: config.appId,
        why: inUse.unknown,
        kept: older.length,
      });
      return;
    }
    await removeAll(
      context,
      config,
      older.filter((p) => p.keyId.toLowerCase() !== inUse.keyId),
      'removed a client secret an earlier rotation of this Key Vault secret made (superseded by the one in use)',
    );
  };

  return {
    kind: entraAppSecretKind,
    strategies: [Strategy.Alternating],

    readConfig,

    async prepare(context) {
      const { config } = context;
      const isThisRotations = markerOf(context);
      const before = await call(`GET application ${config.appId}`, () => graph.getCredentials(config.appId, context.signal));
      // A replay after a crash: the secret text of an earlier attempt is lost, so its credential goes.
      await removeAll(context, config, before.passwordCredentials.filter(isThisRotations), 'removed a client secret left by an earlier attempt of this rotation');

      const endDateTime = new Date(clock.now().getTime() + context.policy.validityMs);
      const displayName = passwordDisplayName(context.secret, context.rotationId);
      const added = await call(`addPassword on app ${config.appId}`, () => graph.addPassword(config.appId, { displayName, endDateTime }, context.signal));
      const keyId = added.keyId.toLowerCase();

      // Belt and braces: anything else carrying this rotation's marker (a duplicate a proxy re-sent) goes too.
      const after = await call(`GET application ${config.appId}`, () => graph.getCredentials(config.appId, context.signal));
      await removeAll(
        context,
        config,
        after.passwordCredentials.filter((p) => isThisRotations(p) && p.keyId.toLowerCase() !== keyId),
        'removed a duplicate client secret of this rotation',
      );
      await pruneSuperseded(context, config, after, keyId, isThisRotations);
      context.log.info('added a client secret', { appId: config.appId, keyId, endDateTime: endDateTime.toISOString(), attempt: context.attempt });
      return { value: added.secretText, slot: keyId, refs: { appId: config.appId, keyId } };
    },

    async test(context, credential) {
      const { config } = context;
      const result = await call(`token request for app ${config.appId}`, () =>
        checkClientSecret({ tenantId: config.tenantId, clientId: config.appId, secret: credential }, context.signal),
      );
      return result.accepted ? { ok: true } : { ok: false, reason: result.reason };
    },

    /**
     * Rollback: remove every secret this rotation added — but only once it is
     * certain the previous secret still works, or the app would be left with none.
     */
    async restore(context, previous, prepared) {
      const { config } = context;
      const isThisRotations = markerOf(context);
      const app = await call(`GET application ${config.appId}`, () => graph.getCredentials(config.appId, context.signal));
      const ours = app.passwordCredentials.filter((p) => isThisRotations(p) || p.keyId.toLowerCase() === prepared.refs?.keyId);
      const previousKey = keyIdOf(previous, app, new Set(ours.map((p) => p.keyId.toLowerCase())));
      const previousWorks =
        'keyId' in previousKey
          ? present(app, previousKey.keyId)
          : (await call(`token request for app ${config.appId}`, () => checkClientSecret({ tenantId: config.tenantId, clientId: config.appId, secret: previous.value }, context.signal))).accepted;
      if (!previousWorks) {
        throw new RotatorError(
          RotatorErrorCode.ProviderRejected,
          `rollback cannot restore app ${config.appId}: the previous client secret no longer exists; the new one is kept`,
        );
      }
      await removeAll(context, config, ours, 'removed the client secret of the rolled-back rotation');
    },

    /** Revoke-after: remove the superseded secret. Idempotent: a secret already gone is fine. */
    async revoke(context, superseded) {
      const { config } = context;
      const app = await call(`GET application ${config.appId}`, () => graph.getCredentials(config.appId, context.signal));
      const current = keyIdOf(context.current, app, new Set());
      const currentKeyId = 'keyId' in current ? current.keyId : undefined;
      const found = keyIdOf(superseded, app, new Set(currentKeyId === undefined ? [] : [currentKeyId]));
      if ('unknown' in found) {
        if (found.unknown === 'gone') {
          context.log.info('no client secret matches the superseded value any more; nothing to revoke', { appId: config.appId });
          return;
        }
        throw new RotatorError(
          RotatorErrorCode.InvalidConfiguration,
          `cannot tell which client secret of app ${config.appId} the superseded value is: it has no rotor-slot/CredentialId tag and several secrets share its hint`,
        );
      }
      const keyId = found.keyId;
      if (keyId === currentKeyId) {
        throw new RotatorError(RotatorErrorCode.InvalidConfiguration, `refusing to remove client secret ${keyId} of app ${config.appId}: the latest version holds it`);
      }
      if (!present(app, keyId)) {
        context.log.info('superseded client secret is already gone; nothing to revoke', { appId: config.appId, keyId });
        return;
      }
      await call(`removePassword on app ${config.appId}`, () => graph.removePassword(config.appId, keyId, context.signal));
      context.log.info('removed the superseded client secret', { appId: config.appId, keyId });
    },
  };
}
