import { formatSecretRef, type SecretRef } from '../keyvault/secret-ref.js';
import type { Logger } from '../observability/logger.js';
import { TriggerKind } from '../rotation/model.js';
import type { StartRotation } from '../rotation/start-types.js';
import {
  KeyVaultEventType,
  parseEventEnvelope,
  parseKeyVaultSecretEvent,
  rotationEventTypes,
  SUBSCRIPTION_VALIDATION_EVENT,
} from './keyvault-events.js';
import type { EventStart } from './start-message.js';

/** Why an event started nothing; each is logged with its reason. */
export const IgnoreReason = {
  /** Rotor's own writes (and anyone's new versions) never start a rotation (I7). */
  NewVersion: 'new-version',
  UnrelatedType: 'unrelated-type',
  ValidationEvent: 'validation-event',
  VaultNotAllowed: 'vault-not-allowed',
  NotManaged: 'not-managed',
  InvalidPolicy: 'invalid-policy',
  NotFound: 'not-found',
  /** The event's version is no longer the latest: already rotated. */
  Stale: 'stale',
  /** Another rotation holds the secret. */
  Busy: 'busy',
  /** `rotor-paused=true`: events start nothing. */
  Paused: 'paused',
} as const;
export type IgnoreReason = (typeof IgnoreReason)[keyof typeof IgnoreReason];

export type IntakeResult =
  | { readonly outcome: 'started' | 'duplicate'; readonly rotationId: string; readonly secret: SecretRef; readonly version: string }
  /** Enqueued for its rotation to start (the checks run then); `repeat`: this instance had enqueued it already, nothing was sent. */
  | { readonly outcome: 'queued'; readonly secret: SecretRef; readonly version: string; readonly repeat: boolean }
  | { readonly outcome: 'ignored'; readonly reason: IgnoreReason; readonly detail: string }
  /** Malformed: retrying can never help, so it is logged and answered as handled. */
  | { readonly outcome: 'rejected'; readonly problems: readonly string[] };

/**
 * How long, and for how many, the intake remembers a (secret, version) it
 * started: shorter than the engine's duplicate window (an hour), so the engine
 * stays the one that decides; per engine, so each composition has its own.
 */
const RECENT_START_TTL_MS = 5 * 60_000;
const RECENT_START_LIMIT = 20_000;
/** A (secret, version) this instance started (`rotationId`) or enqueued (no id yet). */
interface RecentStart {
  readonly rotationId?: string;
  readonly at: number;
}
const recentStarts = new WeakMap<StartRotation, Map<string, RecentStart>>();

function recentStartsOf(startRotation: StartRotation): Map<string, RecentStart> {
  let recent = recentStarts.get(startRotation);
  if (recent === undefined) {
    recent = new Map();
    recentStarts.set(startRotation, recent);
  }
  return recent;
}

function remember(recent: Map<string, RecentStart>, key: string, rotationId: string | undefined): void {
  recent.delete(key);
  recent.set(key, rotationId === undefined ? { at: Date.now() } : { rotationId, at: Date.now() });
  // A Map iterates in insertion order: the first keys are the oldest.
  for (const oldest of recent.keys()) {
    if (recent.size <= RECENT_START_LIMIT) break;
    recent.delete(oldest);
  }
}

export interface IntakeDependencies {
  readonly startRotation: StartRotation;
  readonly allowedVaults: readonly string[];
  readonly log: Logger;
  /**
   * Enqueue first (where the step queue is Service Bus): the intake checks only
   * what needs no I/O (schema, type, vault allow-list, a repeat it enqueued
   * itself), sends one message and answers; the vault read and the checks
   * (latest version, managed, policy, lock) run when the message is handled
   * (`startQueuedEvent`). Absent: the intake starts the rotation itself.
   */
  readonly enqueueStart?: (start: EventStart) => Promise<void>;
}

/**
 * Handles one delivered event. Never throws for what is wrong with the event
 * (Event Grid would retry it for a day); throws only when the enqueue (or
 * `startRotation`) fails for a reason that may pass (queue or storage down),
 * so that Event Grid delivers it again.
 */
export async function receiveKeyVaultEvent(input: unknown, deps: IntakeDependencies): Promise<IntakeResult> {
  const result = await classify(input, deps);
  logResult(result, deps.log);
  return result;
}

/**
 * Starts the rotation of an event the intake enqueued, with every per-event
 * check (latest version, managed, valid policy, not paused, lock, one rotation
 * per (secret, version)), and logs the outcome as the intake did. Throws only
 * what may pass (ledger or queue down), for the step handler's backoff.
 */
export async function startQueuedEvent(start: EventStart, deps: Pick<IntakeDependencies, 'startRotation' | 'log'>): Promise<IntakeResult> {
  const result = await startFromEvent(start, deps.startRotation);
  logResult(result, deps.log);
  return result;
}

function logResult(result: IntakeResult, log: Logger): void {
  const fields = { outcome: result.outcome };
  switch (result.outcome) {
    case 'queued':
      log.debug(result.repeat ? 'repeated event: already queued here' : 'event queued for its rotation to start', {
        ...fields,
        secretRef: formatSecretRef(result.secret),
        version: result.version,
      });
      break;
    case 'started':
    case 'duplicate':
      log.info(result.outcome === 'started' ? 'rotation started by event' : 'duplicate event: rotation already started', {
        ...fields,
        rotationId: result.rotationId,
        secretRef: formatSecretRef(result.secret),
        version: result.version,
      });
      break;
    case 'ignored': {
      const quiet = result.reason === IgnoreReason.InvalidPolicy ? 'warn' : result.reason === IgnoreReason.Busy || result.reason === IgnoreReason.Stale ? 'info' : 'debug';
      log[quiet]('event ignored', { ...fields, reason: result.reason, detail: result.detail });
      break;
    }
    case 'rejected':
      log.warn('malformed event rejected', { ...fields, problems: result.problems.slice(0, 10) });
      break;
  }
}

async function classify(input: unknown, deps: IntakeDependencies): Promise<IntakeResult> {
  const envelope = parseEventEnvelope(input);
  if (!envelope.ok) return { outcome: 'rejected', problems: envelope.problems };
  const { type } = envelope.value;

  if (type === SUBSCRIPTION_VALIDATION_EVENT) {
    return { outcome: 'ignored', reason: IgnoreReason.ValidationEvent, detail: 'the host answers the validation handshake' };
  }
  if (type === KeyVaultEventType.SecretNewVersionCreated) {
    return { outcome: 'ignored', reason: IgnoreReason.NewVersion, detail: `${type} never starts a rotation` };
  }
  if (!rotationEventTypes.has(type)) {
    return { outcome: 'ignored', reason: IgnoreReason.UnrelatedType, detail: `event type ${type.slice(0, 120)} is not handled` };
  }

  const parsed = parseKeyVaultSecretEvent(envelope.value);
  if (!parsed.ok) return { outcome: 'rejected', problems: parsed.problems };
  const event = parsed.value;
  const where = formatSecretRef(event.secret);

  if (!deps.allowedVaults.includes(event.secret.vaultUrl)) {
    return { outcome: 'ignored', reason: IgnoreReason.VaultNotAllowed, detail: `${event.secret.vaultUrl} is not in ROTOR_ALLOWED_VAULTS` };
  }

  // Event Grid delivers at least once, often more: a (secret, version) this instance just
  // started is answered from memory, with no vault or ledger call.
  const recent = recentStartsOf(deps.startRotation);
  const key = `${where.toLowerCase()}@${event.version}`;
  const seen = recent.get(key);
  if (seen !== undefined && Date.now() - seen.at < RECENT_START_TTL_MS) {
    return seen.rotationId === undefined
      ? { outcome: 'queued', secret: event.secret, version: event.version, repeat: true }
      : { outcome: 'duplicate', rotationId: seen.rotationId, secret: event.secret, version: event.version };
  }

  if (deps.enqueueStart !== undefined) {
    // Remembered before the send, so that repeats in the same batch send nothing; forgotten if the send fails
    // (the throw makes the host answer 500, and Event Grid delivers the whole batch again).
    remember(recent, key, undefined);
    try {
      await deps.enqueueStart({ secret: event.secret, version: event.version, eventType: event.eventType, eventId: event.eventId });
    } catch (error) {
      recent.delete(key);
      throw error;
    }
    return { outcome: 'queued', secret: event.secret, version: event.version, repeat: false };
  }
  const result = await startFromEvent(event, deps.startRotation);
  if (result.outcome === 'started' || result.outcome === 'duplicate') remember(recent, key, result.rotationId);
  return result;
}

/** The engine's start for an event, its answer read as the intake's. */
async function startFromEvent(event: EventStart, startRotation: StartRotation): Promise<IntakeResult> {
  const where = formatSecretRef(event.secret);
  const started = await startRotation(event.secret, {
    kind: TriggerKind.Event,
    eventType: event.eventType,
    eventId: event.eventId,
    version: event.version,
  });
  switch (started.outcome) {
    case 'started':
    case 'duplicate':
      return { outcome: started.outcome, rotationId: started.rotationId, secret: event.secret, version: event.version };
    case 'busy':
      return { outcome: 'ignored', reason: IgnoreReason.Busy, detail: `${where}: rotation ${started.activeRotationId} is active` };
    case 'not-found':
      return { outcome: 'ignored', reason: IgnoreReason.NotFound, detail: `${where} does not exist` };
    case 'not-managed':
      return { outcome: 'ignored', reason: IgnoreReason.NotManaged, detail: `${where} has no Rotor policy` };
    case 'invalid-policy':
      return {
        outcome: 'ignored',
        reason: IgnoreReason.InvalidPolicy,
        detail: `${where}: ${started.problems.map((p) => `${p.tag}: ${p.message}`).join('; ')}`,
      };
    case 'stale':
      return { outcome: 'ignored', reason: IgnoreReason.Stale, detail: `${where}: version ${event.version} is no longer the latest (${started.latestVersion})` };
    case 'paused':
      return { outcome: 'ignored', reason: IgnoreReason.Paused, detail: `${where} is paused (rotor-paused=true)` };
    case 'dry-run':
      // Events never ask for a dry run; an answer of one means nothing was started.
      return { outcome: 'ignored', reason: IgnoreReason.UnrelatedType, detail: 'dry run' };
  }
}
