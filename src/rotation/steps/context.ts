import type { ConsumerGateway } from '../../consumers/adapter.js';
import type { ConsumerRegistry } from '../../consumers/registry.js';
import { isSecretStoreError, SecretStoreErrorCode } from '../../keyvault/errors.js';
import { formatSecretRef, type SecretRef } from '../../keyvault/secret-ref.js';
import type { Logger } from '../../observability/logger.js';
import { withConfig, type CurrentCredential, type PreparedCredential, type Rotator, type RotatorContext, type RotatorRegistry } from '../rotator.js';
import type { SecretValue } from '../../secrecy/secret-value.js';
import { RotationError, RotationErrorCode } from '../errors.js';
import type { RotationPatch } from '../machine.js';
import { StepName, Strategy, type Rotation, type UndoableStep, type UndoRecord } from '../model.js';
import { disablePending, readPending } from '../pending.js';
import { currentSlot } from '../policy.js';
import type { RotationPolicy } from '../policy-types.js';
import type { HealthProbe, RotationLedger, SecretStore, StoredSecret } from '../ports.js';
import type { StepOutcome } from '../transitions.js';

/**
 * What every step module shares: the ports, and the small reads a step needs
 * (the policy snapshot, the rotator, a version, the pending value). Each step
 * is written to be run again after a crash at any point: before changing the
 * world it looks whether an earlier attempt already did, and every undo
 * tolerates "never happened".
 */
export interface StepPorts {
  readonly secretStore: SecretStore;
  readonly ledger: RotationLedger;
  readonly healthProbe: HealthProbe;
  readonly rotators: RotatorRegistry;
  readonly minValidityMs: number;
  /** A restored version expires no earlier than this after the rollback, so the next attempt is a day away, not at once (I7). */
  readonly rollbackRetryAfterMs: number;
  /** Declared consumers: how to nudge them and read their adoption, and the registry beside the ledger. Absent: a secret that declares consumers rolls back, naming why. */
  readonly consumers?: { readonly gateway: ConsumerGateway; readonly registry: Pick<ConsumerRegistry, 'get'> };
}

export interface StepInput {
  readonly rotation: Rotation;
  readonly attempt: number;
  /** The message's first delivery (`StepDelivery.first`); false when unknown. With attempt 1: the step never ran before. */
  readonly firstDelivery: boolean;
  readonly now: Date;
  readonly log: Logger;
  /** Persists progress inside a step (rollback records each undo action as it completes). */
  readonly checkpoint: (patch: RotationPatch) => Promise<Rotation>;
}

export interface StepResult {
  readonly outcome: StepOutcome;
  readonly patch?: RotationPatch;
  /** Pushed on the undo stack when the step succeeded. */
  readonly undo?: UndoRecord;
}

export type RotationStep = (input: StepInput) => Promise<StepResult>;

/** Walks back what the step's own undo record says it changed (`rotation` as rollback has it now); returns what rollback records. */
export type UndoStep<S extends UndoableStep> = (record: Extract<UndoRecord, { readonly step: S }>, rotation: Rotation, input: StepInput) => Promise<RotationPatch>;

/** A world-changing step: its action and its undo side by side. */
export interface UndoableStepModule<S extends UndoableStep> {
  readonly run: RotationStep;
  readonly undo: UndoStep<S>;
}

export interface StepContext {
  readonly ports: StepPorts;
  readonly store: SecretStore;
  policyOf(rotation: Rotation): RotationPolicy;
  rotatorOf(rotation: Rotation): Rotator;
  readVersion(secret: SecretRef, version: string | undefined, what: string): Promise<StoredSecret>;
  credentialOf(stored: StoredSecret): CurrentCredential;
  /** What a rotator method is called with: the call, and the rotator's config read from the policy snapshot (once per step). */
  rotatorContext(rotation: Rotation, current: CurrentCredential, input: StepInput): RotatorContext;
  /** The prepared value; `undefined` once its pending version is disabled (the rotation finished with it). */
  preparedOf(rotation: Rotation): Promise<PreparedCredential | undefined>;
  requirePrepared(rotation: Rotation): Promise<PreparedCredential>;
  setEnabledIfPresent(secret: SecretRef, version: string | undefined, enabled: boolean): Promise<void>;
  disablePendingIfPresent(rotation: Rotation): Promise<void>;
}

/**
 * Whether promote must keep the new value in a pending version (the
 * companion secret) before anything changes at the provider:
 * - single with a provider (`apply` or `restore`): between apply and the
 *   write of the new version the provider accepts only the new value, so it
 *   must already be durable (docs/protocol.md, "Why the single strategy keeps
 *   its pending version").
 * - alternating whose `restore` needs the prepared credential itself
 *   (`restoreNeedsPrepared`, the webhook).
 * Every other rotation writes the value it generates (`random`) or mints on
 * the inactive slot straight as the new version: one create. The slot is in
 * use by no one until then, so a crash between mint and write is healed by
 * minting again; rollback reads the value back from the promoted version
 * before it disables it.
 */
export function keepsPending(rotator: Rotator, strategy: Strategy): boolean {
  if (strategy === Strategy.Alternating) return rotator.restoreNeedsPrepared === true;
  return rotator.apply !== undefined || rotator.restore !== undefined;
}

/**
 * A rotation whose prepare step ran (it began under the older plan, with
 * prepare and apply as steps of their own): promote takes the pending value
 * prepare recorded, and the `prepared` and `applied` undo records undo the
 * provider. Every other rotation's promote does prepare and apply itself.
 */
export function ranPrepareStep(rotation: Rotation): boolean {
  return rotation.undo.some((u) => u.step === StepName.Prepare);
}

/**
 * Wraps a step error thrown before the step changed anything (promote: the
 * rotator's prepare), so the engine can say so on the failed outcome
 * (`unchanged`) and the machine ends Failed instead of rolling back.
 */
export class FailedUnchanged extends Error {
  override readonly name = 'FailedUnchanged';
  constructor(readonly failure: unknown) {
    super('the step failed before it changed anything');
  }
}

export async function beforeAnyChange<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new FailedUnchanged(error);
  }
}

export function createStepContext(ports: StepPorts): StepContext {
  const store = ports.secretStore;

  async function ignoreNotFound(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      if (!isSecretStoreError(error, SecretStoreErrorCode.NotFound)) throw error;
    }
  }

  const context: StepContext = {
    ports,
    store,
    policyOf(rotation) {
      if (rotation.policy === undefined) throw new RotationError(RotationErrorCode.InvalidPolicy, 'the rotation has no policy: begin did not record one');
      return rotation.policy;
    },
    rotatorOf(rotation) {
      const rotator = ports.rotators.get(rotation.rotator);
      if (rotator === undefined) throw new RotationError(RotationErrorCode.RotatorNotFound, `no rotator "${rotation.rotator}" is registered`);
      return rotator;
    },
    async readVersion(secret, version, what) {
      if (version === undefined) throw new RotationError(RotationErrorCode.SecretNotFound, `the ${what} version is not recorded`);
      const read = await store.getVersion(secret, version);
      if (read.kind === 'missing') throw new RotationError(RotationErrorCode.SecretNotFound, `the ${what} version ${version} of ${formatSecretRef(secret)} is gone`);
      if (read.kind === 'disabled') throw new RotationError(RotationErrorCode.SecretDisabled, `the ${what} version ${version} of ${formatSecretRef(secret)} is disabled`);
      return read.secret;
    },
    credentialOf(stored) {
      const slot = currentSlot(stored.tags);
      return {
        version: stored.version,
        value: stored.value,
        tags: stored.tags,
        ...(stored.contentType === undefined ? {} : { contentType: stored.contentType }),
        ...(slot === undefined ? {} : { slot }),
      };
    },
    rotatorContext(rotation, current, input) {
      return withConfig(context.rotatorOf(rotation), {
        rotationId: rotation.id,
        secret: rotation.secret,
        policy: context.policyOf(rotation),
        current,
        attempt: input.attempt,
        log: input.log,
        readSecret: async (name: string): Promise<SecretValue> => {
          const other = await store.getLatest({ vaultUrl: rotation.secret.vaultUrl, name });
          if (other.kind === 'missing') throw new RotationError(RotationErrorCode.InvalidConfiguration, `secret ${name} that the rotator reads does not exist in the vault`);
          if (other.kind === 'disabled') throw new RotationError(RotationErrorCode.SecretDisabled, `secret ${name} that the rotator reads is disabled`);
          return other.secret.value;
        },
      });
    },
    async preparedOf(rotation) {
      const pendingVersion = rotation.versions.pending;
      if (pendingVersion === undefined) return undefined;
      const pending = await readPending(store, rotation.secret, pendingVersion);
      if (pending === undefined) return undefined;
      return {
        ...pending.prepared,
        ...(rotation.prepared?.refs === undefined ? {} : { refs: rotation.prepared.refs }),
        ...(rotation.slots?.next === undefined ? {} : { slot: rotation.slots.next }),
      };
    },
    async requirePrepared(rotation) {
      const prepared = await context.preparedOf(rotation);
      if (prepared === undefined) throw new RotationError(RotationErrorCode.SecretNotFound, 'the pending value of this rotation is no longer readable');
      return prepared;
    },
    async setEnabledIfPresent(secret, version, enabled) {
      if (version === undefined) return;
      await ignoreNotFound(() => store.setEnabled(secret, version, enabled));
    },
    async disablePendingIfPresent(rotation) {
      const version = rotation.versions.pending;
      if (version === undefined) return;
      await ignoreNotFound(() => disablePending(store, rotation.secret, version));
    },
  };
  return context;
}
