import type { AdoptionReport, NudgeContext } from '../../consumers/adapter.js';
import { isConsumerError } from '../../consumers/errors.js';
import { checkHealthGate } from '../../health/gate.js';
import { RotationError, RotationErrorCode } from '../errors.js';
import { ConsumerState, type AdoptionRecord, type ConsumerRecord, type Rotation } from '../model.js';
import type { RotationStep, StepContext, StepInput, StepResult } from './context.js';
import { entryOfRecord, replaceRecord } from './nudge.js';

function afterReport(record: ConsumerRecord, report: AdoptionReport, at: string): ConsumerRecord {
  const base = { ...record, report: report.detail, reportedAt: at };
  switch (report.state) {
    case 'adopted':
      return { ...base, state: ConsumerState.Adopted, version: report.version, adoptedAt: at };
    case 'behind':
      return { ...base, state: ConsumerState.Behind, ...(report.version === undefined ? {} : { version: report.version }) };
    case 'unreported':
      return { ...base, state: ConsumerState.Unreported };
  }
}

/** What a waiting or failed verify says about a consumer: its entry and what it last reported. */
function describe(record: ConsumerRecord): string {
  return `${record.entry} (${record.report ?? 'nothing reported'})`;
}

/**
 * Reads the adoption of every reporting consumer not yet adopted, records
 * each answer (checkpointed, so what a consumer said survives a crash), and
 * answers the consumers still behind.
 */
async function readAdoption(context: StepContext, rotation: Rotation, adoption: AdoptionRecord, input: StepInput): Promise<{ adoption: AdoptionRecord; pending: ConsumerRecord[] }> {
  const gateway = context.ports.consumers?.gateway;
  if (gateway === undefined) throw new RotationError(RotationErrorCode.ConsumerRejected, 'this Rotor has no consumer adapters, so it cannot read the declared consumers');
  const promoted = rotation.versions.promoted ?? '';
  const nudge: NudgeContext = { secret: rotation.secret, version: promoted, rotationId: rotation.id, purpose: 'adopt' };
  const at = input.now.toISOString();
  let next = adoption;
  for (const record of adoption.consumers) {
    if (record.state === ConsumerState.Adopted || record.state === ConsumerState.Unreported) continue;
    let updated: ConsumerRecord;
    try {
      updated = afterReport(record, await gateway.readAdoption(entryOfRecord(record), nudge), at);
    } catch (error) {
      if (!isConsumerError(error)) throw error;
      updated = { ...record, state: ConsumerState.Unreadable, report: error.message, reportedAt: at };
    }
    next = replaceRecord(next, updated);
  }
  if (next !== adoption) await input.checkpoint({ adoption: next });
  return { adoption: next, pending: next.consumers.filter((c) => c.state !== ConsumerState.Adopted && c.state !== ConsumerState.Unreported) };
}

/**
 * verify: first adoption (I8) — every declared consumer that can report must
 * report the promoted version; verify polls them with backoff until the
 * adoption deadline (the nudge plus `rotor-adoption-timeout`) and, past it,
 * fails naming each consumer still behind and what it last said, which rolls
 * back. Then the rotator's self-test and the health probes. Reads only.
 */
export function verifyStep(context: StepContext): { readonly run: RotationStep } {
  const run: RotationStep = async (input): Promise<StepResult> => {
    const { rotation } = input;
    const policy = context.policyOf(rotation);
    let adopted = '';
    const adoption = rotation.adoption;
    if (adoption !== undefined && adoption.consumers.length > 0) {
      const read = await readAdoption(context, rotation, adoption, input);
      if (read.pending.length > 0) {
        const deadline = Date.parse(adoption.deadline ?? input.now.toISOString());
        const version = rotation.versions.promoted ?? '';
        if (input.now.getTime() >= deadline) {
          throw new RotationError(
            RotationErrorCode.ConsumerNotAdopted,
            `${read.pending.length === 1 ? 'consumer' : `${read.pending.length} consumers`} did not adopt version ${version} within ${Math.round(adoption.timeoutMs / 1000)} s: ${read.pending.map(describe).join('; ')}`,
          );
        }
        return {
          outcome: {
            kind: 'waiting',
            reason: `waiting for ${read.pending.length} of ${adoption.consumers.length} consumer(s) to adopt ${version}: ${read.pending.map(describe).join('; ')}`,
            maxDelayMs: deadline - input.now.getTime(),
          },
        };
      }
      const reporting = read.adoption.consumers.filter((c) => c.state === ConsumerState.Adopted).length;
      adopted = `${reporting} consumer(s) adopted${reporting < read.adoption.consumers.length ? `, ${read.adoption.consumers.length - reporting} cannot report (grace waited)` : ''}; `;
    }
    const rotator = context.rotatorOf(rotation);
    const promoted = await context.readVersion(rotation.secret, rotation.versions.promoted, 'promoted');
    const gate = await checkHealthGate({
      selfTest: () => rotator.test(context.rotatorContext(rotation, context.credentialOf(promoted), input), promoted.value),
      probe: context.ports.healthProbe,
      targets: policy.health,
    });
    if (!gate.healthy) return { outcome: { kind: 'unhealthy', reason: `${adopted}${gate.reason}` } };
    return { outcome: { kind: 'succeeded', detail: `${adopted}${policy.health.length === 0 ? 'self-test passed' : `self-test and ${policy.health.length} probe(s) passed`}` } };
  };
  return { run };
}
