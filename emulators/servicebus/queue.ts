/**
 * One queue's state and rules, free of AMQP links: sequence numbers, locks,
 * delivery counts, sessions, scheduling, expiry, duplicate detection and the
 * dead-letter sub-queue. The AMQP layer asks it for the next message, stamps
 * the delivery and reports what the client decided.
 */
import { randomUUID } from 'node:crypto';
import type { Message } from 'rhea';
import { annotationKeys, messageIdKey, newLockToken } from './amqp-envelope.js';
import { AmqpConditionError, amqpConditions } from './errors.js';
import type { QueueConfig } from './queue-config.js';
import { ReadyList } from './ready-list.js';

export const messageStates = { active: 'active', deferred: 'deferred', scheduled: 'scheduled' } as const;
export type MessageState = (typeof messageStates)[keyof typeof messageStates];

export const subQueueKinds = { main: 'main', deadLetter: 'deadLetter' } as const;
export type SubQueueKind = (typeof subQueueKinds)[keyof typeof subQueueKinds];

export const settleOutcomes = { complete: 'complete', abandon: 'abandon', defer: 'defer', deadLetter: 'deadLetter' } as const;
export type SettleOutcome = (typeof settleOutcomes)[keyof typeof settleOutcomes];

/** Reasons Service Bus itself writes into `DeadLetterReason`. */
export const deadLetterReasons = {
  maxDeliveryCountExceeded: 'MaxDeliveryCountExceeded',
  ttlExpired: 'TTLExpiredException',
} as const;

/** Whoever holds a lock: a receiver link, or a `$management` link for deferred messages. */
export interface LockHolder {
  readonly holderId: string;
}

interface MessageLock {
  readonly token: string;
  lockedUntil: number;
  readonly holder: LockHolder;
  /** Messages received on a session link live and die with the session lock. */
  readonly sessionBound: boolean;
}

export interface StoredMessage {
  readonly key: number;
  readonly sequenceNumber: number;
  readonly messageIdKey: string | undefined;
  readonly sessionId: string | undefined;
  readonly message: Message;
  readonly size: number;
  enqueuedAt: number;
  expiresAt: number;
  state: MessageState;
  scheduledFor: number | undefined;
  /** When the message last became ready; the delivery-delay fault counts from here. */
  readyAt: number;
  /** Deliveries so far; the header of the next delivery carries this number. */
  deliveryCount: number;
  order: number;
  lock: MessageLock | undefined;
}

export interface SessionEntry {
  readonly id: string;
  readonly ready: ReadyList<StoredMessage>;
  holder: LockHolder | undefined;
  lockedUntil: number;
  state: Buffer | undefined;
  messageCount: number;
  updatedAt: number;
}

/** The queue itself or its `$DeadLetterQueue`. */
export class SubQueue {
  readonly messages = new Map<number, StoredMessage>();
  readonly bySequence = new Map<number, StoredMessage>();
  readonly locks = new Map<string, StoredMessage>();
  readonly ready = new ReadyList<StoredMessage>();
  readonly sessions = new Map<string, SessionEntry>();
  readonly expiring = new Set<StoredMessage>();
  readonly scheduled = new Set<StoredMessage>();

  constructor(
    readonly kind: SubQueueKind,
    /** Only the main sub-queue of a session queue is sessionful; its dead-letter queue is not. */
    readonly sessionful: boolean,
  ) {}

  session(sessionId: string, now: number): SessionEntry {
    let entry = this.sessions.get(sessionId);
    if (entry === undefined) {
      entry = { id: sessionId, ready: new ReadyList(), holder: undefined, lockedUntil: 0, state: undefined, messageCount: 0, updatedAt: now };
      this.sessions.set(sessionId, entry);
    }
    return entry;
  }

  readyListOf(message: StoredMessage, now: number): ReadyList<StoredMessage> {
    return this.sessionful && message.sessionId !== undefined ? this.session(message.sessionId, now).ready : this.ready;
  }
}

export interface QueueCounters {
  /** Messages accepted from senders, scheduled ones included, duplicates not. */
  readonly sent: number;
  readonly delivered: number;
  readonly completed: number;
  readonly abandoned: number;
  readonly deferred: number;
  readonly deadLettered: number;
  readonly expired: number;
  readonly lockExpired: number;
  readonly duplicatesDropped: number;
  /** Gauges: messages now in each state (active includes locked ones). */
  readonly active: number;
  readonly locked: number;
  readonly scheduled: number;
  readonly deferredNow: number;
  readonly deadLetterQueue: number;
}

type MutableCounters = {
  -readonly [K in 'sent' | 'delivered' | 'completed' | 'abandoned' | 'deferred' | 'deadLettered' | 'expired' | 'lockExpired' | 'duplicatesDropped']: number;
};

/** A stored message as persistence keeps it: the same fields, read-only, with its sub-queue; `expiresAt` absent: never; the lock without its holder. */
export type PersistedMessage = Readonly<Omit<StoredMessage, 'expiresAt' | 'lock'>> & {
  readonly sub: SubQueueKind;
  readonly expiresAt: number | undefined;
  readonly lock: { readonly token: string; readonly lockedUntil: number; readonly sessionBound: boolean } | undefined;
};

/** One queue's state as persistence keeps it. */
export interface QueueState {
  readonly nextSequence: number;
  readonly nextOrder: number;
  readonly nextKey: number;
  readonly duplicates: readonly (readonly [string, number])[];
  readonly counters: Readonly<Record<string, number>>;
  readonly messages: readonly PersistedMessage[];
  readonly sessions: readonly { readonly id: string; readonly held: boolean; readonly lockedUntil: number; readonly state: Buffer | undefined; readonly updatedAt: number }[];
}

export interface QueueEvents {
  /** A session's lock ran out (or was expired on purpose): its receiver link must be detached. */
  sessionLockLost(holder: LockHolder, sessionId: string): void;
}

/** What the AMQP layer needs to put one delivery on the wire. */
export interface DeliveredMessage {
  readonly stored: StoredMessage;
  readonly headerDeliveryCount: number;
  readonly lockToken: string | undefined;
  readonly lockedUntil: number | undefined;
}

export interface DeadLetterDetails {
  readonly reason?: string;
  readonly description?: string;
  readonly propertiesToModify?: Readonly<Record<string, unknown>>;
}

export interface SettleVia {
  /** The receiver link the disposition came on; absent for `$management` settlement. */
  readonly holder?: LockHolder;
}

export interface ExpireLocksSelector {
  readonly lockToken?: string;
  readonly sequenceNumber?: number;
  readonly sessionId?: string;
}

export class BrokerQueue {
  readonly main: SubQueue;
  readonly deadLetterQueue: SubQueue;
  readonly faults = { duplicateDeliveries: 0, deliveryDelayMs: 0 };

  #nextSequence = 1;
  #nextOrder = 1;
  #nextKey = 1;
  /** Counts the changes a client can be told about; persistence saves when it moved. */
  #changes = 0;
  readonly #duplicateHistory = new Map<string, number>();
  readonly #counters: MutableCounters = {
    sent: 0,
    delivered: 0,
    completed: 0,
    abandoned: 0,
    deferred: 0,
    deadLettered: 0,
    expired: 0,
    lockExpired: 0,
    duplicatesDropped: 0,
  };

  constructor(
    readonly config: QueueConfig,
    private readonly events: QueueEvents,
    private readonly clock: () => number = Date.now,
  ) {
    this.main = new SubQueue(subQueueKinds.main, config.requiresSession);
    this.deadLetterQueue = new SubQueue(subQueueKinds.deadLetter, false);
  }

  get name(): string {
    return this.config.name;
  }

  /** How many changes a client could have been told about so far (sends, deliveries, settlements, locks, session state). */
  get changes(): number {
    return this.#changes;
  }

  subQueue(kind: SubQueueKind): SubQueue {
    return kind === subQueueKinds.main ? this.main : this.deadLetterQueue;
  }

  // ---- sending -------------------------------------------------------------

  /** Refuses what the service refuses before anything of a send is stored. */
  checkSendable(message: Message, size: number): void {
    if (size > this.config.maxMessageSizeBytes) {
      throw new AmqpConditionError(
        amqpConditions.messageSizeExceeded,
        `The received message (size: ${size} bytes) exceeds the limit (${this.config.maxMessageSizeBytes} bytes) currently allowed on the link.`,
      );
    }
    if (this.config.requiresSession && !hasText(message.group_id)) {
      throw new AmqpConditionError(
        amqpConditions.notAllowed,
        'The SessionId was not set on a message, and it cannot be sent to the entity. Entities that have session support enabled can only receive messages that have the SessionId set to a valid value.',
      );
    }
  }

  /**
   * Stores a sent message: sequence number, enqueued time, scheduling when it
   * carries a future `x-opt-scheduled-enqueue-time`. A duplicate within the
   * detection window is accepted and dropped, as the service does.
   */
  accept(message: Message, size: number, scheduledFor?: number): { sequenceNumber: number; duplicate: boolean } {
    this.#changes += 1;
    const now = this.clock();
    if (message.message_id === undefined || message.message_id === null) {
      // The service assigns a GUID when the sender set none.
      message.message_id = randomUUID().replace(/-/g, '');
    }
    const idKey = messageIdKey(message.message_id);
    if (this.#isDuplicate(idKey, now)) {
      this.#counters.duplicatesDropped += 1;
      // A dropped duplicate still answers a schedule request with a number; nothing carries it.
      return { sequenceNumber: this.#nextSequence++, duplicate: true };
    }
    const scheduleAt = scheduledFor ?? scheduledTimeOf(message);
    const stored: StoredMessage = {
      key: this.#nextKey++,
      sequenceNumber: this.#nextSequence++,
      messageIdKey: idKey,
      sessionId: hasText(message.group_id) ? message.group_id : undefined,
      message,
      size,
      enqueuedAt: now,
      expiresAt: Number.POSITIVE_INFINITY,
      state: messageStates.active,
      scheduledFor: undefined,
      readyAt: now,
      deliveryCount: 0,
      order: 0,
      lock: undefined,
    };
    this.#counters.sent += 1;
    this.#index(this.main, stored, now);
    if (scheduleAt !== undefined && scheduleAt > now) {
      stored.state = messageStates.scheduled;
      stored.scheduledFor = scheduleAt;
      this.main.scheduled.add(stored);
    } else {
      this.#activate(stored, now);
    }
    return { sequenceNumber: stored.sequenceNumber, duplicate: false };
  }

  /** `cancel-scheduled-message`: numbers that are not (or no longer) scheduled are ignored. */
  cancelScheduled(sequenceNumbers: readonly number[]): void {
    this.#changes += 1;
    for (const sequenceNumber of sequenceNumbers) {
      const stored = this.main.bySequence.get(sequenceNumber);
      if (stored !== undefined && stored.state === messageStates.scheduled) {
        this.main.scheduled.delete(stored);
        this.#remove(this.main, stored);
      }
    }
  }

  // ---- receiving -----------------------------------------------------------

  /** The next message a receiver may get now, expiring stale ones on the way. */
  nextDeliverable(sub: SubQueue, sessionId: string | undefined): StoredMessage | undefined {
    const now = this.clock();
    const list = sessionId === undefined ? sub.ready : sub.sessions.get(sessionId)?.ready;
    if (list === undefined) return undefined;
    for (let head = list.first(); head !== undefined; head = list.first()) {
      if (head.expiresAt <= now) {
        this.#expire(sub, head, now);
        continue;
      }
      return head.readyAt + this.faults.deliveryDelayMs <= now ? head : undefined;
    }
    return undefined;
  }

  /**
   * Hands a ready message to a receiver: locks it (peek-lock, `holder` given)
   * or removes it (receive-and-delete). Returns what the delivery must carry.
   */
  deliver(sub: SubQueue, stored: StoredMessage, holder: LockHolder | undefined): DeliveredMessage {
    this.#changes += 1;
    const now = this.clock();
    sub.readyListOf(stored, now).remove(stored);
    const headerDeliveryCount = stored.deliveryCount;
    // Every delivery counts, in the dead-letter queue too (where no max applies).
    stored.deliveryCount += 1;
    this.#counters.delivered += 1;
    this.#maybeDuplicate(sub, stored, now);
    if (holder === undefined) {
      this.#remove(sub, stored);
      return { stored, headerDeliveryCount, lockToken: undefined, lockedUntil: undefined };
    }
    const session = sub.sessionful && stored.sessionId !== undefined ? sub.sessions.get(stored.sessionId) : undefined;
    const lockedUntil = session !== undefined ? session.lockedUntil : now + this.config.lockDurationMs;
    const token = newLockToken();
    stored.lock = { token, lockedUntil, holder, sessionBound: session !== undefined };
    sub.locks.set(token, stored);
    return { stored, headerDeliveryCount, lockToken: token, lockedUntil };
  }

  /** Applies a receiver's decision on a locked message. */
  settle(sub: SubQueue, lockToken: string, outcome: SettleOutcome, details: DeadLetterDetails, via: SettleVia): void {
    this.#changes += 1;
    const now = this.clock();
    const stored = this.#lockedMessage(sub, lockToken, via, now);
    switch (outcome) {
      case settleOutcomes.complete:
        this.#unlock(sub, stored);
        this.#remove(sub, stored);
        this.#counters.completed += 1;
        return;
      case settleOutcomes.abandon:
        applyProperties(stored.message, details.propertiesToModify);
        this.#counters.abandoned += 1;
        this.#release(sub, stored, now);
        return;
      case settleOutcomes.defer:
        applyProperties(stored.message, details.propertiesToModify);
        this.#unlock(sub, stored);
        stored.state = messageStates.deferred;
        this.#counters.deferred += 1;
        return;
      case settleOutcomes.deadLetter:
        if (sub.kind === subQueueKinds.deadLetter) {
          throw new AmqpConditionError(amqpConditions.notAllowed, 'A message in the dead-letter queue cannot be dead-lettered again.');
        }
        this.#unlock(sub, stored);
        this.#deadLetter(stored, details, now);
        return;
    }
  }

  /** `renew-lock`: a fresh lock duration from now. */
  renewLock(sub: SubQueue, lockToken: string): number {
    this.#changes += 1;
    const now = this.clock();
    const stored = sub.locks.get(lockToken);
    if (stored?.lock === undefined || stored.lock.sessionBound || stored.lock.lockedUntil <= now) {
      throw lockLost(false);
    }
    stored.lock.lockedUntil = now + this.config.lockDurationMs;
    return stored.lock.lockedUntil;
  }

  /** `receive-by-sequence-number`: deferred messages only, each locked to `holder` (or removed). */
  receiveDeferred(sub: SubQueue, sequenceNumbers: readonly number[], holder: LockHolder | undefined, sessionId: string | undefined): DeliveredMessage[] {
    this.#changes += 1;
    const now = this.clock();
    const found = sequenceNumbers.map((sequenceNumber) => {
      const stored = sub.bySequence.get(sequenceNumber);
      if (stored === undefined || stored.state !== messageStates.deferred || stored.lock !== undefined || (sessionId !== undefined && stored.sessionId !== sessionId)) {
        throw new AmqpConditionError(
          amqpConditions.messageNotFound,
          `Failed to lock one or more specified messages. Either the message is already locked or it does not exist. Sequence number: ${sequenceNumber}.`,
        );
      }
      return stored;
    });
    return found.map((stored) => {
      const headerDeliveryCount = stored.deliveryCount;
      stored.deliveryCount += 1;
      this.#counters.delivered += 1;
      if (holder === undefined) {
        this.#remove(sub, stored);
        return { stored, headerDeliveryCount, lockToken: undefined, lockedUntil: undefined };
      }
      const token = newLockToken();
      const lockedUntil = now + this.config.lockDurationMs;
      stored.lock = { token, lockedUntil, holder, sessionBound: false };
      sub.locks.set(token, stored);
      return { stored, headerDeliveryCount, lockToken: token, lockedUntil };
    });
  }

  /** `peek-message`: any state, in sequence order, without locking. */
  peek(sub: SubQueue, fromSequenceNumber: number, count: number, sessionId: string | undefined): StoredMessage[] {
    const candidates: StoredMessage[] = [];
    for (const stored of sub.bySequence.values()) {
      if (stored.sequenceNumber >= fromSequenceNumber && (sessionId === undefined || stored.sessionId === sessionId)) candidates.push(stored);
    }
    return candidates.sort((a, b) => a.sequenceNumber - b.sequenceNumber).slice(0, count);
  }

  // ---- sessions ------------------------------------------------------------

  /** `acceptSession(id)`: an exclusive lock, refused while another receiver holds it. */
  lockSession(sessionId: string, holder: LockHolder): number {
    this.#changes += 1;
    const now = this.clock();
    const entry = this.main.session(sessionId, now);
    this.#endExpiredSessionLock(entry, now);
    if (entry.holder !== undefined && entry.holder !== holder) {
      throw new AmqpConditionError(
        amqpConditions.sessionCannotBeLocked,
        `The requested session '${sessionId}' cannot be accepted. It may be locked by another receiver.`,
      );
    }
    entry.holder = holder;
    entry.lockedUntil = now + this.config.lockDurationMs;
    return entry.lockedUntil;
  }

  /** `acceptNextSession()`: the free session whose first ready message is oldest. */
  lockNextSession(holder: LockHolder): { sessionId: string; lockedUntil: number } | undefined {
    this.#changes += 1;
    const now = this.clock();
    let best: SessionEntry | undefined;
    for (const entry of this.main.sessions.values()) {
      this.#endExpiredSessionLock(entry, now);
      if (entry.holder !== undefined) continue;
      const head = this.nextDeliverable(this.main, entry.id);
      if (head === undefined) continue;
      if (best === undefined || head.order < best.ready.first()!.order) best = entry;
    }
    if (best === undefined) return undefined;
    best.holder = holder;
    best.lockedUntil = now + this.config.lockDurationMs;
    return { sessionId: best.id, lockedUntil: best.lockedUntil };
  }

  /** A session receiver went away: its session is free and its unsettled messages are redelivered. */
  releaseSessionsOf(holder: LockHolder): void {
    this.#changes += 1;
    const now = this.clock();
    for (const entry of this.main.sessions.values()) {
      if (entry.holder === holder) this.#releaseSession(entry, now);
    }
  }

  renewSessionLock(sessionId: string): number {
    this.#changes += 1;
    const now = this.clock();
    const entry = this.#heldSession(sessionId, now);
    entry.lockedUntil = now + this.config.lockDurationMs;
    for (const stored of this.main.locks.values()) {
      if (stored.sessionId === sessionId && stored.lock?.sessionBound === true) stored.lock.lockedUntil = entry.lockedUntil;
    }
    return entry.lockedUntil;
  }

  getSessionState(sessionId: string): Buffer | undefined {
    return this.#heldSession(sessionId, this.clock()).state;
  }

  setSessionState(sessionId: string, state: Buffer | undefined): void {
    this.#changes += 1;
    if (state !== undefined && state.length > this.config.maxMessageSizeBytes) {
      throw new AmqpConditionError(amqpConditions.messageSizeExceeded, `The session state (${state.length} bytes) exceeds the limit (${this.config.maxMessageSizeBytes} bytes).`);
    }
    const now = this.clock();
    const entry = this.#heldSession(sessionId, now);
    entry.state = state;
    entry.updatedAt = now;
  }

  /** `get-message-sessions`: sessions holding messages or state. */
  listSessions(skip: number, top: number): string[] {
    const ids = [...this.main.sessions.values()].filter((s) => s.messageCount > 0 || s.state !== undefined).map((s) => s.id);
    return ids.slice(skip, skip + top);
  }

  // ---- time and faults -----------------------------------------------------

  /** Runs what time brings: activations, lock expiry, message expiry, the end of duplicate windows. */
  tick(): void {
    const now = this.clock();
    for (const stored of this.main.scheduled) {
      if (stored.scheduledFor !== undefined && stored.scheduledFor <= now) {
        this.main.scheduled.delete(stored);
        stored.state = messageStates.active;
        stored.scheduledFor = undefined;
        stored.enqueuedAt = now;
        this.#activate(stored, now);
      }
    }
    for (const sub of [this.main, this.deadLetterQueue]) {
      for (const stored of sub.locks.values()) {
        if (stored.lock !== undefined && !stored.lock.sessionBound && stored.lock.lockedUntil <= now) {
          this.#counters.lockExpired += 1;
          this.#release(sub, stored, now);
        }
      }
    }
    for (const entry of this.main.sessions.values()) {
      this.#endExpiredSessionLock(entry, now);
      if (entry.holder === undefined && entry.messageCount === 0 && entry.state === undefined) this.main.sessions.delete(entry.id);
    }
    for (const stored of this.main.expiring) {
      if (stored.expiresAt <= now && stored.lock === undefined && stored.state === messageStates.active) this.#expire(this.main, stored, now);
    }
    for (const [idKey, until] of this.#duplicateHistory) {
      if (until > now) break;
      this.#duplicateHistory.delete(idKey);
    }
  }

  /** Fault: end locks now, as if their time had run out. Returns how many were ended. */
  expireLocks(selector: ExpireLocksSelector): number {
    this.#changes += 1;
    const now = this.clock();
    let ended = 0;
    for (const sub of [this.main, this.deadLetterQueue]) {
      for (const stored of sub.locks.values()) {
        if (stored.lock === undefined || stored.lock.sessionBound) continue;
        if (selector.lockToken !== undefined && stored.lock.token !== selector.lockToken) continue;
        if (selector.sequenceNumber !== undefined && stored.sequenceNumber !== selector.sequenceNumber) continue;
        if (selector.sessionId !== undefined && stored.sessionId !== selector.sessionId) continue;
        this.#counters.lockExpired += 1;
        this.#release(sub, stored, now);
        ended += 1;
      }
    }
    if (selector.lockToken === undefined && selector.sequenceNumber === undefined) {
      for (const entry of this.main.sessions.values()) {
        if (entry.holder === undefined || (selector.sessionId !== undefined && entry.id !== selector.sessionId)) continue;
        this.#loseSession(entry, now);
        ended += 1;
      }
    }
    return ended;
  }

  counters(): QueueCounters {
    let active = 0;
    let locked = 0;
    let scheduled = 0;
    let deferredNow = 0;
    for (const stored of this.main.messages.values()) {
      if (stored.state === messageStates.active) active += 1;
      else if (stored.state === messageStates.scheduled) scheduled += 1;
      else deferredNow += 1;
      if (stored.lock !== undefined) locked += 1;
    }
    return { ...this.#counters, active, locked, scheduled, deferredNow, deadLetterQueue: this.deadLetterQueue.messages.size };
  }

  // ---- persistence -------------------------------------------------------------

  /** Everything a restarted emulator needs to carry on: messages in every state, locks, sessions, numbering, duplicate history. */
  exportState(): QueueState {
    const messages: PersistedMessage[] = [];
    for (const sub of [this.main, this.deadLetterQueue]) {
      for (const stored of sub.messages.values()) {
        messages.push({
          sub: sub.kind,
          key: stored.key,
          sequenceNumber: stored.sequenceNumber,
          messageIdKey: stored.messageIdKey,
          sessionId: stored.sessionId,
          message: stored.message,
          size: stored.size,
          enqueuedAt: stored.enqueuedAt,
          expiresAt: Number.isFinite(stored.expiresAt) ? stored.expiresAt : undefined,
          state: stored.state,
          scheduledFor: stored.scheduledFor,
          readyAt: stored.readyAt,
          deliveryCount: stored.deliveryCount,
          order: stored.order,
          lock: stored.lock === undefined ? undefined : { token: stored.lock.token, lockedUntil: stored.lock.lockedUntil, sessionBound: stored.lock.sessionBound },
        });
      }
    }
    return {
      nextSequence: this.#nextSequence,
      nextOrder: this.#nextOrder,
      nextKey: this.#nextKey,
      duplicates: [...this.#duplicateHistory],
      counters: { ...this.#counters },
      messages,
      sessions: [...this.main.sessions.values()].map((entry) => ({
        id: entry.id,
        held: entry.holder !== undefined,
        lockedUntil: entry.lockedUntil,
        state: entry.state,
        updatedAt: entry.updatedAt,
      })),
    };
  }

  /**
   * Loads what `exportState` saved into this (empty) queue. Locks and session
   * locks come back held by `holder`, a receiver that no longer exists: they
   * run out at their saved time, and then their messages are delivered again
   * with the delivery already counted, as after a receiver that crashed.
   */
  restoreState(state: QueueState, holder: LockHolder): void {
    const now = this.clock();
    this.#nextSequence = Math.max(this.#nextSequence, state.nextSequence);
    this.#nextOrder = Math.max(this.#nextOrder, state.nextOrder);
    this.#nextKey = Math.max(this.#nextKey, state.nextKey);
    for (const [idKey, until] of state.duplicates) this.#duplicateHistory.set(idKey, until);
    Object.assign(this.#counters, state.counters);
    for (const saved of state.sessions) {
      const entry = this.main.session(saved.id, now);
      entry.holder = saved.held ? holder : undefined;
      entry.lockedUntil = saved.lockedUntil;
      entry.state = saved.state;
      entry.updatedAt = saved.updatedAt;
    }
    for (const saved of [...state.messages].sort((a, b) => a.order - b.order)) {
      const sub = this.subQueue(saved.sub);
      const stored: StoredMessage = {
        key: saved.key,
        sequenceNumber: saved.sequenceNumber,
        messageIdKey: saved.messageIdKey,
        sessionId: saved.sessionId,
        message: saved.message,
        size: saved.size,
        enqueuedAt: saved.enqueuedAt,
        expiresAt: saved.expiresAt ?? Number.POSITIVE_INFINITY,
        state: saved.state,
        scheduledFor: saved.scheduledFor,
        readyAt: saved.readyAt,
        deliveryCount: saved.deliveryCount,
        order: saved.order,
        lock: saved.lock === undefined ? undefined : { ...saved.lock, holder },
      };
      this.#index(sub, stored, now);
      if (Number.isFinite(stored.expiresAt)) sub.expiring.add(stored);
      if (stored.lock !== undefined) sub.locks.set(stored.lock.token, stored);
      else if (stored.state === messageStates.scheduled) sub.scheduled.add(stored);
      else if (stored.state === messageStates.active) sub.readyListOf(stored, now).insert(stored);
    }
  }

  // ---- internals -----------------------------------------------------------

  #isDuplicate(idKey: string | undefined, now: number): boolean {
    const window = this.config.duplicateDetectionWindowMs;
    if (window === undefined || idKey === undefined) return false;
    const until = this.#duplicateHistory.get(idKey);
    if (until !== undefined && until > now) return true;
    this.#duplicateHistory.delete(idKey);
    this.#duplicateHistory.set(idKey, now + window);
    return false;
  }

  #index(sub: SubQueue, stored: StoredMessage, now: number): void {
    sub.messages.set(stored.key, stored);
    sub.bySequence.set(stored.sequenceNumber, stored);
    if (sub.sessionful && stored.sessionId !== undefined) sub.session(stored.sessionId, now).messageCount += 1;
  }

  #activate(stored: StoredMessage, now: number): void {
    const ttl = Math.min(ttlOf(stored.message) ?? Infinity, this.config.defaultMessageTimeToLiveMs ?? Infinity);
    stored.expiresAt = stored.enqueuedAt + ttl;
    if (Number.isFinite(stored.expiresAt)) this.main.expiring.add(stored);
    stored.order = this.#nextOrder++;
    stored.readyAt = now;
    this.main.readyListOf(stored, now).insert(stored);
  }

  #remove(sub: SubQueue, stored: StoredMessage): void {
    const now = this.clock();
    sub.messages.delete(stored.key);
    if (sub.bySequence.get(stored.sequenceNumber) === stored) sub.bySequence.delete(stored.sequenceNumber);
    sub.expiring.delete(stored);
    if (stored.lock === undefined && stored.state === messageStates.active) sub.readyListOf(stored, now).remove(stored);
    if (sub.sessionful && stored.sessionId !== undefined) {
      const entry = sub.session(stored.sessionId, now);
      entry.messageCount -= 1;
      entry.updatedAt = now;
    }
  }

  #unlock(sub: SubQueue, stored: StoredMessage): void {
    if (stored.lock !== undefined) sub.locks.delete(stored.lock.token);
    stored.lock = undefined;
  }

  /** A lock ended without completion: back in line, or dead-lettered after too many tries. */
  #release(sub: SubQueue, stored: StoredMessage, now: number): void {
    this.#unlock(sub, stored);
    if (stored.state === messageStates.deferred) return;
    if (sub.kind === subQueueKinds.main && stored.deliveryCount >= this.config.maxDeliveryCount) {
      this.#deadLetter(stored, {
        reason: deadLetterReasons.maxDeliveryCountExceeded,
        description: `Message could not be consumed after ${this.config.maxDeliveryCount} delivery attempts.`,
      }, now);
      return;
    }
    stored.readyAt = now;
    sub.readyListOf(stored, now).insert(stored);
  }

  #lockedMessage(sub: SubQueue, lockToken: string, via: SettleVia, now: number): StoredMessage {
    const stored = sub.locks.get(lockToken);
    if (stored?.lock === undefined) throw lockLost(sub.sessionful && via.holder !== undefined);
    if (stored.lock.sessionBound) {
      const entry = stored.sessionId === undefined ? undefined : sub.sessions.get(stored.sessionId);
      const held = entry !== undefined && entry.lockedUntil > now && (via.holder === undefined || entry.holder === via.holder);
      if (!held) throw lockLost(true);
    } else if (stored.lock.lockedUntil <= now) {
      this.#counters.lockExpired += 1;
      this.#release(sub, stored, now);
      throw lockLost(false);
    }
    return stored;
  }

  #deadLetter(stored: StoredMessage, details: DeadLetterDetails, now: number): void {
    this.#remove(this.main, stored);
    this.main.scheduled.delete(stored);
    applyProperties(stored.message, {
      ...details.propertiesToModify,
      ...(details.reason === undefined ? {} : { DeadLetterReason: details.reason }),
      ...(details.description === undefined ? {} : { DeadLetterErrorDescription: details.description }),
    });
    const moved: StoredMessage = {
      ...stored,
      key: this.#nextKey++,
      state: messageStates.active,
      expiresAt: Number.POSITIVE_INFINITY,
      // The service keeps the count a message had when it moved (10 after MaxDeliveryCountExceeded).
      deliveryCount: stored.deliveryCount,
      order: this.#nextOrder++,
      readyAt: now,
      lock: undefined,
    };
    this.#index(this.deadLetterQueue, moved, now);
    this.deadLetterQueue.ready.insert(moved);
    this.#counters.deadLettered += 1;
  }

  #expire(sub: SubQueue, stored: StoredMessage, now: number): void {
    this.#counters.expired += 1;
    if (sub.kind === subQueueKinds.main && this.config.deadLetteringOnMessageExpiration) {
      this.#deadLetter(stored, { reason: deadLetterReasons.ttlExpired, description: 'The message expired and was dead lettered.' }, now);
    } else {
      this.#remove(sub, stored);
    }
  }

  #maybeDuplicate(sub: SubQueue, stored: StoredMessage, now: number): void {
    if (this.faults.duplicateDeliveries <= 0 || sub.kind !== subQueueKinds.main) return;
    this.faults.duplicateDeliveries -= 1;
    // A second live copy: same sequence number and message id, its own lock when delivered.
    const copy: StoredMessage = { ...stored, key: this.#nextKey++, order: stored.order + 0.5, readyAt: now, lock: undefined, message: cloneMessage(stored.message) };
    sub.messages.set(copy.key, copy);
    if (sub.sessionful && copy.sessionId !== undefined) sub.session(copy.sessionId, now).messageCount += 1;
    sub.readyListOf(copy, now).insert(copy);
  }

  #heldSession(sessionId: string, now: number): SessionEntry {
    const entry = this.main.sessions.get(sessionId);
    if (entry?.holder === undefined || entry.lockedUntil <= now) {
      throw new AmqpConditionError(amqpConditions.sessionLockLost, `The session lock has expired on the session with id ${sessionId}.`);
    }
    return entry;
  }

  #releaseSession(entry: SessionEntry, now: number): void {
    entry.holder = undefined;
    entry.lockedUntil = 0;
    for (const stored of this.main.locks.values()) {
      if (stored.sessionId === entry.id && stored.lock?.sessionBound === true) this.#release(this.main, stored, now);
    }
  }

  /**
   * An expired session lock is ended before anyone else takes the session, so
   * the old holder's messages are back in line and its link is told.
   */
  #endExpiredSessionLock(entry: SessionEntry, now: number): void {
    if (entry.holder !== undefined && entry.lockedUntil <= now) this.#loseSession(entry, now);
  }

  #loseSession(entry: SessionEntry, now: number): void {
    const holder = entry.holder;
    this.#releaseSession(entry, now);
    if (holder !== undefined) this.events.sessionLockLost(holder, entry.id);
  }
}

function lockLost(session: boolean): AmqpConditionError {
  return session
    ? new AmqpConditionError(amqpConditions.sessionLockLost, 'The session lock has expired or the session was released. Accept the session again.')
    : new AmqpConditionError(
        amqpConditions.messageLockLost,
        'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
      );
}

function hasText(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function ttlOf(message: Message): number | undefined {
  return typeof message.ttl === 'number' && message.ttl > 0 ? message.ttl : undefined;
}

function scheduledTimeOf(message: Message): number | undefined {
  const value: unknown = (message.message_annotations)?.[annotationKeys.scheduledEnqueueTime];
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  return undefined;
}

function applyProperties(message: Message, properties: Readonly<Record<string, unknown>> | undefined): void {
  if (properties === undefined || Object.keys(properties).length === 0) return;
  message.application_properties = { ...((message.application_properties ?? {}) as Record<string, unknown>), ...properties };
}

function cloneMessage(message: Message): Message {
  return Object.assign(Object.create(Object.getPrototypeOf(message) as object) as Message, message, {
    application_properties: message.application_properties === undefined ? undefined : { ...(message.application_properties as Record<string, unknown>) },
  });
}
