import type { NudgeContext } from '../../consumers/adapter.js';
import { formatConsumerEntry, mergeConsumers, parseConsumerEntry, type ConsumerEntry } from '../../consumers/entries.js';
import { isConsumerError } from '../../consumers/errors.js';
import { readConsumerPolicy } from '../../consumers/policy.js';
import { isLedgerError, LedgerErrorCode } from '../../ledger/errors.js';
import { RotationError, RotationErrorCode } from '../errors.js';
import { ConsumerState, type AdoptionRecord, type ConsumerRecord, type Rotation } from '../model.js';
import type { RotationStep, StepContext, StepInput } from './context.js';

/**
 * The consumers of a rotation: the `rotor-consumers` tag of the policy
 * snapshot and the registry beside the ledger, each consumer once. Read once,
 * at the first nudge; later attempts and verify use the record.
 */
async function declaredConsumers(context: StepContext, rotation: Rotation): Promise<{ entries: ConsumerEntry[]; timeoutMs: number }> {
  const policy = context.policyOf(rotation);
  const reading = readConsumerPolicy(policy.tags, policy.graceMs);
  if ('problems' in reading) {
    throw new RotationError(RotationErrorCode.InvalidPolicy, reading.problems.map((p) => `${p.tag} ${p.message}`).join('; '));
  }
  let registered: readonly ConsumerEntry[] = [];
  const registry = context.ports.consumers?.registry;
  if (registry !== undefined) {
    try {
      registered = (await registry.get(rotation.secret))?.entries ?? [];
    } catch (error) {
      if (isLedgerError(error) && error.code !== LedgerErrorCode.Corrupt) throw new RotationError(RotationErrorCode.ConsumerUnavailable, `the consumer registry could not be read: ${error.message}`, { cause: error });
      throw new RotationError(RotationErrorCode.InvalidConfiguration, 'the consumer registry of this secret does not parse: fix it with PUT /api/secrets/{name}/consumers', { cause: error });
    }
  }
  return { entries: mergeConsumers(reading.policy.consumers, registered), timeoutMs: policy.adoptionTimeoutMs ?? reading.policy.adoptionTimeoutMs };
}

/** Entries of a record back to their parsed form (they were written by Rotor from parsed entries). */
export function entryOfRecord(record: ConsumerRecord): ConsumerEntry {
  const reading = parseConsumerEntry(record.entry);
  if ('problem' in reading) throw new RotationError(RotationErrorCode.InvalidConfiguration, `a recorded consumer no longer parses: ${reading.problem}`);
  return reading.entry;
}

export function consumerRecord(entry: ConsumerEntry): ConsumerRecord {
  return { entry: formatConsumerEntry(entry), kind: entry.kind, state: ConsumerState.Declared };
}

export function replaceRecord(adoption: AdoptionRecord, next: ConsumerRecord): AdoptionRecord {
  return { ...adoption, consumers: adoption.consumers.map((c) => (c.entry === next.entry ? next : c)) };
}

/**
 * nudge: tell every declared consumer to re-read the secret (App Service
 * reference refresh, Container App revision restart, signed CloudEvent).
 * Each successful nudge is checkpointed, so a redelivery after a crash nudges
 * only those not yet reached (and a repeated nudge is harmless anyway). A
 * consumer that does not answer is tried again with backoff; one that refuses
 * (or that Rotor may not nudge) ends the rotation in rollback, naming it.
 */
export function nudgeStep(context: StepContext): { readonly run: RotationStep } {
  const run: RotationStep = async (input: StepInput) => {
    let rotation = input.rotation;
    const promoted = rotation.versions.promoted;
    if (promoted === undefined) throw new RotationError(RotationErrorCode.SecretNotFound, 'the promoted version is not recorded');

    let adoption = rotation.adoption;
    if (adoption === undefined) {
      const declared = await declaredConsumers(context, rotation);
      adoption = { timeoutMs: declared.timeoutMs, consumers: declared.entries.map(consumerRecord) };
      if (adoption.consumers.length > 0) rotation = await input.checkpoint({ adoption });
    }
    if (adoption.consumers.length === 0) return { outcome: { kind: 'succeeded', detail: 'no declared consumers' }, patch: { adoption } };

    const gateway = context.ports.consumers?.gateway;
    if (gateway === undefined) throw new RotationError(RotationErrorCode.ConsumerRejected, 'this Rotor has no consumer adapters, so it cannot nudge the declared consumers');
    const nudge: NudgeContext = { secret: rotation.secret, version: promoted, rotationId: rotation.id, purpose: 'adopt' };
    const unavailable: string[] = [];
    for (const record of adoption.consumers) {
      if (record.nudgedAt !== undefined) continue;
      try {
        const result = await gateway.nudge(entryOfRecord(record), nudge);
        adoption = replaceRecord(adoption, { ...record, state: ConsumerState.Nudged, nudgedAt: input.now.toISOString(), nudge: result.detail });
        rotation = await input.checkpoint({ adoption });
      } catch (error) {
        if (!isConsumerError(error)) throw error;
        if (!error.transient) throw new RotationError(RotationErrorCode.ConsumerRejected, `consumer ${record.entry} was not nudged: ${error.message}`, { cause: error });
        unavailable.push(error.message);
      }
    }
    if (unavailable.length > 0) throw new RotationError(RotationErrorCode.ConsumerUnavailable, `${unavailable.length} consumer(s) not nudged yet: ${unavailable.join('; ')}`);
    const deadline = new Date(input.now.getTime() + adoption.timeoutMs).toISOString();
    return { outcome: { kind: 'succeeded', detail: `nudged ${adoption.consumers.length} consumer(s)` }, patch: { adoption: { ...adoption, deadline } } };
  };
  return { run };
}

/**
 * For rollback: nudge every consumer that was nudged to the promoted version
 * again, now to the restored one, so it returns to the old credential. Best
 * effort: what a consumer answered is recorded (checkpointed, so a replay
 * skips those already done), and a failure never stops the rollback.
 */
export function returnConsumers(context: StepContext): (rotation: Rotation, input: StepInput) => Promise<{ rotation: Rotation; detail: string }> {
  return async (start, input) => {
    let rotation = start;
    const restored = rotation.versions.restored;
    const gateway = context.ports.consumers?.gateway;
    let adoption = rotation.adoption;
    if (restored === undefined || adoption === undefined || gateway === undefined) return { rotation, detail: '' };
    const due = adoption.consumers.filter((c) => c.nudgedAt !== undefined && c.returnedAt === undefined && c.returnError === undefined);
    if (due.length === 0) return { rotation, detail: '' };
    const nudge: NudgeContext = { secret: rotation.secret, version: restored, rotationId: rotation.id, purpose: 'return' };
    let failed = 0;
    for (const record of due) {
      let next: ConsumerRecord;
      try {
        await gateway.nudge(entryOfRecord(record), nudge);
        next = { ...record, returnedAt: input.now.toISOString() };
      } catch (error) {
        if (!isConsumerError(error)) throw error;
        failed += 1;
        next = { ...record, returnError: error.message };
        input.log.warn('consumer not nudged back to the restored version', { rotationId: rotation.id, consumer: record.entry, code: error.code });
      }
      adoption = replaceRecord(adoption, next);
      rotation = await input.checkpoint({ adoption });
    }
    return { rotation, detail: `; ${due.length - failed} of ${due.length} consumer(s) nudged back to ${restored}` };
  };
}
