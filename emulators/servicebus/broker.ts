/**
 * The AMQP 1.0 side of the emulator: a rhea container in server mode that
 * speaks to `@azure/service-bus` as the service does — `$cbs` tokens, sender
 * and receiver links on queues and their `$DeadLetterQueue`, session links,
 * `$management` request/response links, credit, drain and dispositions.
 */
import type { AddressInfo, Server, Socket } from 'node:net';
import type { AmqpError, Connection, Delivery, EventContext, Message, Receiver, Sender } from 'rhea';
import { batchMessageFormat, encodedSize, newLockToken, toDotNetTicks, unpackBatch, uuidToDotNetBytes } from './amqp-envelope.js';
import {
  AmqpConditionError,
  amqpConditions,
  emulatorErrorCodes,
  isAmqpConditionError,
  ServiceBusEmulatorError,
} from './errors.js';
import { answerManagementRequest, encodeDelivered } from './management.js';
import { type QueueConfig } from './queue-config.js';
import {
  BrokerQueue,
  type DeadLetterDetails,
  type LockHolder,
  type SettleOutcome,
  settleOutcomes,
  type StoredMessage,
  type SubQueue,
  subQueueKinds,
  type SubQueueKind,
} from './queue.js';
import {
  amqp,
  allowAnonymousSasl,
  answerEveryDrain,
  forgetSettledDelivery,
  sessionBufferSize,
  creditOf,
  holdAttachAnswer,
  isAttachAnswered,
  isDraining,
  nextPendingDeliveryId,
  remoteAttachProperties,
  setLocalAttachField,
  socketOf,
} from './rhea-runtime.js';
import type { BrokerState, ServiceBusStateFile } from './persistence.js';
import { audiencePath, cbsTokenTypes, isValidSasToken, type SharedAccessKey } from './sas-token.js';

const sessionFilterName = 'com.microsoft:session-filter';
const lockedUntilProperty = 'com.microsoft:locked-until-utc';
const serverTimeoutProperty = 'com.microsoft:timeout';
const deadLetterCondition = 'com.microsoft:dead-letter';
/** The service caps how long an accept-next-session attach may wait. */
const maxSessionWaitMs = 65_000;
const defaultSessionWaitMs = 60_000;

export const receiveModes = { peekLock: 'peekLock', receiveAndDelete: 'receiveAndDelete' } as const;
export type ReceiveMode = (typeof receiveModes)[keyof typeof receiveModes];

interface ConnectionState {
  readonly connection: Connection;
  readonly authorizedPaths: Set<string>;
  /** Links the client receives replies on, by link name and by target address. */
  readonly replyLinks: Map<string, Sender>;
}

/** A client receiver link: the broker sends it messages within its credit. */
class Consumer implements LockHolder {
  readonly holderId = newLockToken();
  readonly deliveries = new Map<number, string>();
  queuedDeliveryIds: number[] = [];
  sessionId: string | undefined;
  active = false;

  constructor(
    readonly link: Sender,
    readonly queue: BrokerQueue,
    readonly sub: SubQueue,
    readonly mode: ReceiveMode,
    readonly connection: ConnectionState,
  ) {}

  /** Credit left after the deliveries queued this tick that rhea has not written yet. */
  availableCredit(): number {
    if (!this.link.is_open() || !this.link.sendable()) return 0;
    const nextPending = nextPendingDeliveryId(this.link);
    this.queuedDeliveryIds = this.queuedDeliveryIds.filter((id) => id >= nextPending);
    return creditOf(this.link) - this.queuedDeliveryIds.length;
  }
}

type InboundLink =
  | { readonly kind: 'cbs' }
  | { readonly kind: 'management'; readonly queue: BrokerQueue; readonly sub: SubQueue; readonly holder: LockHolder }
  | { readonly kind: 'entity'; readonly queue: BrokerQueue };

interface SessionWaiter {
  readonly consumer: Consumer;
  readonly timer: NodeJS.Timeout;
}

type ParsedAddress =
  | { readonly kind: 'cbs' }
  | { readonly kind: 'management'; readonly queueName: string; readonly sub: SubQueueKind }
  | { readonly kind: 'entity'; readonly queueName: string; readonly sub: SubQueueKind }
  | { readonly kind: 'invalid' };

/** `queue`, `queue/$DeadLetterQueue`, their `/$management`, `$cbs`; a full `sb://` URL is accepted too. */
export function parseAddress(address: string | undefined): ParsedAddress {
  if (address === undefined || address === '') return { kind: 'invalid' };
  if (address === '$cbs') return { kind: 'cbs' };
  let path = address;
  if (/^[a-z]+:\/\//i.test(path)) path = audiencePath(path) ?? '';
  const parts = path.split('/').filter((p) => p !== '');
  const [queueName, ...rest] = parts;
  if (queueName === undefined) return { kind: 'invalid' };
  let sub: SubQueueKind = subQueueKinds.main;
  if (rest[0]?.toLowerCase() === '$deadletterqueue') {
    sub = subQueueKinds.deadLetter;
    rest.shift();
  }
  if (rest.length === 0) return { kind: 'entity', queueName, sub };
  if (rest.length === 1 && rest[0]!.toLowerCase() === '$management') return { kind: 'management', queueName, sub };
  return { kind: 'invalid' };
}

export interface BrokerOptions {
  readonly credentials: SharedAccessKey;
  readonly tickIntervalMs: number;
  readonly clock?: () => number;
  /** Where the queues are saved; absent: in memory only. */
  readonly stateFile?: ServiceBusStateFile;
}

/** Holds the locks a restored state brings back: the receiver that held them is gone. */
const restoredHolder: LockHolder = { holderId: 'restored-after-restart' };

export class ServiceBusBroker {
  readonly #queues = new Map<string, BrokerQueue>();
  readonly #consumers = new Map<BrokerQueue, Set<Consumer>>();
  readonly #consumerByLink = new Map<Sender, Consumer>();
  /** Consumers whose link is gone or going: late dispositions on them still get a lock-lost answer. */
  readonly #retired = new WeakMap<Sender, Consumer>();
  readonly #inbound = new Map<Receiver, InboundLink>();
  readonly #connections = new Map<Connection, ConnectionState>();
  readonly #waiters = new Map<BrokerQueue, SessionWaiter[]>();
  readonly #sockets = new Set<Socket>();
  readonly #container = amqp.createContainer(`rotor-servicebus-emulator-${newLockToken()}`);
  readonly #clock: () => number;
  #server: Server | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #saver: NodeJS.Timeout | undefined;
  /** Queue creations and deletions; with each queue's change count, tells whether there is anything new to save. */
  #entityChanges = 0;
  #savedVersion = '';

  constructor(private readonly options: BrokerOptions) {
    this.#clock = options.clock ?? Date.now;
    const c = this.#container;
    allowAnonymousSasl(c);
    const on = (event: string, handler: (ctx: EventContext) => void): void => {
      c.on(event, (ctx: EventContext) => {
        // An exception must never unwind into rhea's frame processing: it would stall the connection.
        try {
          handler(ctx);
        } catch (error) {
          console.error(`[servicebus-emulator] internal error handling '${event}':`, error);
        }
      });
    };
    on('connection_open', (ctx) => this.#connectionOf(ctx.connection));
    on('connection_close', (ctx) => this.#forgetConnection(ctx.connection));
    on('disconnected', (ctx) => this.#forgetConnection(ctx.connection));
    on('error', () => undefined);
    on('connection_error', () => undefined);
    on('sender_open', (ctx) => this.#onClientReceiverAttach(ctx));
    on('receiver_open', (ctx) => this.#onClientSenderAttach(ctx));
    on('sender_close', (ctx) => this.#onSenderDetach(ctx.sender));
    on('receiver_close', (ctx) => this.#onReceiverDetach(ctx.receiver));
    on('message', (ctx) => this.#onTransfer(ctx));
    on('sendable', (ctx) => this.#onCredit(ctx.sender));
    on('sender_draining', (ctx) => this.#onDrain(ctx.sender));
    for (const outcome of ['accepted', 'rejected', 'released', 'modified'] as const) {
      on(outcome, (ctx) => this.#onDisposition(ctx, outcome));
    }
  }

  // ---- lifecycle ------------------------------------------------------------------

  async listen(host: string, port: number): Promise<number> {
    const server = this.#container.listen({ host, port, session_buffer_size: sessionBufferSize });
    this.#server = server;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      if (this.options.stateFile !== undefined) this.#saveBeforeWriting(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    this.#ticker = setInterval(() => this.#tick(), this.options.tickIntervalMs);
    this.#ticker.unref();
    if (this.options.stateFile !== undefined) {
      // Admin changes send no frame; they are saved within a second.
      this.#saver = setInterval(() => this.saveState(), 1_000);
      this.#saver.unref();
    }
    return (server.address() as AddressInfo).port;
  }

  /** Closes every connection and timer; resolves when the listening socket is closed. */
  async close(): Promise<void> {
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#ticker = undefined;
    if (this.#saver !== undefined) clearInterval(this.#saver);
    this.#saver = undefined;
    this.saveState();
    for (const waiters of this.#waiters.values()) for (const w of waiters) clearTimeout(w.timer);
    this.#waiters.clear();
    for (const { connection } of this.#connections.values()) {
      try {
        connection.close();
      } catch {
        // already gone
      }
    }
    const server = this.#server;
    this.#server = undefined;
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    this.#connections.clear();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- queues -----------------------------------------------------------------------

  createQueue(config: QueueConfig): BrokerQueue {
    const key = config.name.toLowerCase();
    if (this.#queues.has(key)) {
      throw new ServiceBusEmulatorError(emulatorErrorCodes.queueAlreadyExists, `Queue '${config.name}' already exists.`, { field: 'name' });
    }
    const queue = new BrokerQueue(config, { sessionLockLost: (holder) => this.#onSessionLockLost(holder) }, this.#clock);
    this.#queues.set(key, queue);
    this.#consumers.set(queue, new Set());
    this.#entityChanges += 1;
    return queue;
  }

  // ---- persistence ------------------------------------------------------------------

  /**
   * Loads a saved state before the emulator listens. A saved queue the
   * options also create keeps the options' configuration (a restart may
   * change a lock duration); one they do not is created as it was saved.
   */
  restoreState(state: BrokerState): void {
    for (const saved of state.queues) {
      const queue = this.#queues.get(saved.config.name.toLowerCase()) ?? this.createQueue(saved.config);
      queue.restoreState(saved.state, restoredHolder);
    }
    this.#savedVersion = this.#version();
  }

  /** Writes the state file if anything changed since the last write. */
  saveState(): void {
    const file = this.options.stateFile;
    if (file === undefined) return;
    const version = this.#version();
    if (version === this.#savedVersion) return;
    file.save({ queues: this.queues().map((queue) => ({ config: queue.config, state: queue.exportState() })) });
    this.#savedVersion = version;
  }

  #version(): string {
    return `${this.#entityChanges}/${this.queues()
      .map((q) => `${q.name}:${q.changes}`)
      .join(',')}`;
  }

  /**
   * The write barrier: every frame rhea writes to this client goes out only
   * after the state that led to it is on disk. rhea writes frames from its
   * own tick, after the handler that changed a queue has returned, so one
   * save covers every change the frames being written can reveal.
   */
  #saveBeforeWriting(socket: Socket): void {
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    (socket as unknown as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]): boolean => {
      this.saveState();
      return write(...args);
    };
  }

  deleteQueue(name: string): void {
    const queue = this.getQueue(name);
    for (const consumer of [...(this.#consumers.get(queue) ?? [])]) {
      this.#closeConsumer(consumer, { condition: amqpConditions.notFound, description: `The messaging entity '${queue.name}' was deleted.` });
    }
    for (const [link, inbound] of this.#inbound) {
      if (inbound.kind !== 'cbs' && inbound.queue === queue) {
        link.close({ condition: amqpConditions.notFound, description: `The messaging entity '${queue.name}' was deleted.` });
        this.#inbound.delete(link);
      }
    }
    this.#queues.delete(queue.name.toLowerCase());
    this.#consumers.delete(queue);
    this.#entityChanges += 1;
  }

  getQueue(name: string): BrokerQueue {
    const queue = this.#queues.get(name.toLowerCase());
    if (queue === undefined) throw new ServiceBusEmulatorError(emulatorErrorCodes.queueNotFound, `Queue '${name}' does not exist.`, { field: 'queue' });
    return queue;
  }

  queues(): BrokerQueue[] {
    return [...this.#queues.values()];
  }

  /** Fault: cut client connections without a close frame, as a network failure would. */
  dropConnections(queueName?: string): number {
    const queue = queueName === undefined ? undefined : this.getQueue(queueName);
    let dropped = 0;
    for (const state of [...this.#connections.values()]) {
      if (queue !== undefined && !this.#connectionUses(state, queue)) continue;
      socketOf(state.connection)?.destroy();
      this.#forgetConnection(state.connection);
      dropped += 1;
    }
    return dropped;
  }

  /** Lets waiting receivers and session acceptors see what a fault or admin call changed. */
  poke(queue: BrokerQueue): void {
    this.#dispatch(queue);
    this.#serveSessionWaiters(queue);
  }

  // ---- connections -------------------------------------------------------------

  #connectionOf(connection: Connection): ConnectionState {
    let state = this.#connections.get(connection);
    if (state === undefined) {
      state = { connection, authorizedPaths: new Set(), replyLinks: new Map() };
      this.#connections.set(connection, state);
    }
    return state;
  }

  #forgetConnection(connection: Connection): void {
    if (!this.#connections.has(connection)) return;
    this.#connections.delete(connection);
    for (const consumer of [...this.#consumerByLink.values()]) {
      if (consumer.connection.connection === connection) this.#removeConsumer(consumer);
    }
    for (const link of [...this.#inbound.keys()]) {
      if (link.connection === connection) this.#inbound.delete(link);
    }
  }

  #connectionUses(state: ConnectionState, queue: BrokerQueue): boolean {
    for (const consumer of this.#consumerByLink.values()) if (consumer.connection === state && consumer.queue === queue) return true;
    for (const [link, inbound] of this.#inbound) if (link.connection === state.connection && inbound.kind !== 'cbs' && inbound.queue === queue) return true;
    return false;
  }

  #isAuthorized(state: ConnectionState, address: string): boolean {
    const path = address.toLowerCase();
    for (const granted of state.authorizedPaths) if (path === granted || path.startsWith(`${granted}/`)) return true;
    return false;
  }

  #entityNotFound(queueName: string): AmqpConditionError {
    return new AmqpConditionError(amqpConditions.notFound, `The messaging entity 'sb://emulator/${queueName}' could not be found.`);
  }

  // ---- attach --------------------------------------------------------------------------

  /** The client attached a receiver: the broker end is a sender. */
  #onClientReceiverAttach(ctx: EventContext): void {
    const link = ctx.sender;
    if (link === undefined) return;
    const state = this.#connectionOf(ctx.connection);
    const source = link.source;
    const target = link.target;
    const address = parseAddress(source?.address);
    if (address.kind === 'cbs' || address.kind === 'management') {
      // The client's reply link of a request/response pair.
      link.set_source({ address: source.address });
      if (target?.address !== undefined) {
        link.set_target({ address: target.address });
        state.replyLinks.set(target.address, link);
      }
      state.replyLinks.set(link.name, link);
      return;
    }
    if (address.kind === 'invalid') return refuse(link, new AmqpConditionError(amqpConditions.notFound, `The address '${source?.address ?? ''}' is not a queue of this emulator.`));
    if (!this.#isAuthorized(state, source.address ?? '')) return refuse(link, unauthorized(source.address ?? ''));
    const queue = this.#queues.get(address.queueName.toLowerCase());
    if (queue === undefined) return refuse(link, this.#entityNotFound(address.queueName));
    const sub = queue.subQueue(address.sub);
    const filter = (source.filter ?? {}) as Record<string, unknown>;
    const wantsSession = Object.hasOwn(filter, sessionFilterName);
    if (sub.sessionful && !wantsSession) {
      return refuse(link, new AmqpConditionError(amqpConditions.notAllowed, `It is not possible for an entity that requires sessions to create a non-sessionful message receiver. Entity: '${queue.name}'.`));
    }
    if (!sub.sessionful && wantsSession) {
      return refuse(link, new AmqpConditionError(amqpConditions.notAllowed, `It is not possible for an entity that does not support sessions to create a session receiver. Entity: '${queue.name}'.`));
    }

    const remote = link as unknown as { snd_settle_mode: number; rcv_settle_mode: number };
    const mode = remote.snd_settle_mode === 1 ? receiveModes.receiveAndDelete : receiveModes.peekLock;
    setLocalAttachField(link, 'snd_settle_mode', remote.snd_settle_mode);
    setLocalAttachField(link, 'rcv_settle_mode', remote.rcv_settle_mode);
    if (target?.address !== undefined) link.set_target({ address: target.address });
    answerEveryDrain(link);
    const consumer = new Consumer(link, queue, sub, mode, state);
    this.#consumerByLink.set(link, consumer);

    if (!wantsSession) {
      link.set_source({ address: source.address });
      this.#activate(consumer);
      return;
    }
    const requested = filter[sessionFilterName];
    if (typeof requested === 'string' && requested !== '') {
      try {
        this.#grantSession(consumer, requested, queue.lockSession(requested, consumer));
      } catch (error) {
        this.#consumerByLink.delete(link);
        refuse(link, asCondition(error));
      }
      return;
    }
    const next = queue.lockNextSession(consumer);
    if (next !== undefined) {
      this.#grantSession(consumer, next.sessionId, next.lockedUntil);
      return;
    }
    // No free session now: answer once one frees up or the client's timeout passes.
    holdAttachAnswer(link);
    const waitMs = Math.min(maxSessionWaitMs, numberOr(remoteAttachProperties(link)[serverTimeoutProperty], defaultSessionWaitMs));
    const timer = setTimeout(() => this.#sessionWaitTimedOut(consumer, waitMs), waitMs);
    timer.unref();
    const waiters = this.#waiters.get(queue) ?? [];
    waiters.push({ consumer, timer });
    this.#waiters.set(queue, waiters);
  }

  #grantSession(consumer: Consumer, sessionId: string, lockedUntil: number): void {
    const link = consumer.link;
    consumer.sessionId = sessionId;
    link.set_source({ address: link.source.address, filter: { [sessionFilterName]: sessionId } });
    setLocalAttachField(link, 'properties', { [lockedUntilProperty]: amqp.types.wrap_long(toDotNetTicks(lockedUntil)) });
    if (!isAttachAnswered(link)) link.open();
    this.#activate(consumer);
  }

  #sessionWaitTimedOut(consumer: Consumer, waitMs: number): void {
    this.#removeWaiter(consumer);
    this.#consumerByLink.delete(consumer.link);
    refuse(consumer.link, new AmqpConditionError(amqpConditions.timeout, `The operation did not complete within the allotted timeout of ${waitMs} ms: no session of '${consumer.queue.name}' became available.`));
  }

  #removeWaiter(consumer: Consumer): void {
    const waiters = this.#waiters.get(consumer.queue);
    if (waiters === undefined) return;
    const at = waiters.findIndex((w) => w.consumer === consumer);
    if (at >= 0) {
      clearTimeout(waiters[at]!.timer);
      waiters.splice(at, 1);
    }
  }

  #serveSessionWaiters(queue: BrokerQueue): void {
    const waiters = this.#waiters.get(queue);
    while (waiters !== undefined && waiters.length > 0) {
      const waiter = waiters[0]!;
      const next = queue.lockNextSession(waiter.consumer);
      if (next === undefined) return;
      waiters.shift();
      clearTimeout(waiter.timer);
      this.#grantSession(waiter.consumer, next.sessionId, next.lockedUntil);
    }
  }

  #activate(consumer: Consumer): void {
    consumer.active = true;
    this.#consumers.get(consumer.queue)?.add(consumer);
    this.#dispatch(consumer.queue);
  }

  /** The client attached a sender: the broker end is a receiver. */
  #onClientSenderAttach(ctx: EventContext): void {
    const link = ctx.receiver;
    if (link === undefined) return;
    const state = this.#connectionOf(ctx.connection);
    const targetAddress = link.target?.address;
    const address = parseAddress(targetAddress);
    link.set_target({ address: targetAddress });
    if (link.source?.address !== undefined) link.set_source({ address: link.source.address });
    if (address.kind === 'cbs') {
      this.#inbound.set(link, { kind: 'cbs' });
      return;
    }
    if (address.kind === 'invalid') return refuse(link, new AmqpConditionError(amqpConditions.notFound, `The address '${targetAddress ?? ''}' is not a queue of this emulator.`));
    if (!this.#isAuthorized(state, targetAddress ?? '')) return refuse(link, unauthorized(targetAddress ?? ''));
    const queue = this.#queues.get(address.queueName.toLowerCase());
    if (queue === undefined) return refuse(link, this.#entityNotFound(address.queueName));
    if (address.kind === 'management') {
      this.#inbound.set(link, { kind: 'management', queue, sub: queue.subQueue(address.sub), holder: { holderId: newLockToken() } });
      return;
    }
    if (address.sub === subQueueKinds.deadLetter) {
      return refuse(link, new AmqpConditionError(amqpConditions.notAllowed, 'Messages cannot be sent to a dead-letter queue.'));
    }
    setLocalAttachField(link, 'max_message_size', queue.config.maxMessageSizeBytes);
    this.#inbound.set(link, { kind: 'entity', queue });
  }

  // ---- detach ----------------------------------------------------------------------

  #onSenderDetach(link: Sender | undefined): void {
    if (link === undefined) return;
    for (const state of this.#connections.values()) {
      for (const [key, reply] of state.replyLinks) if (reply === link) state.replyLinks.delete(key);
    }
    const consumer = this.#consumerByLink.get(link);
    if (consumer !== undefined) this.#removeConsumer(consumer);
  }

  #onReceiverDetach(link: Receiver | undefined): void {
    if (link !== undefined) this.#inbound.delete(link);
  }

  #removeConsumer(consumer: Consumer): void {
    this.#removeWaiter(consumer);
    this.#consumerByLink.delete(consumer.link);
    this.#retired.set(consumer.link, consumer);
    this.#consumers.get(consumer.queue)?.delete(consumer);
    consumer.active = false;
    if (consumer.sessionId !== undefined) {
      consumer.queue.releaseSessionsOf(consumer);
      this.poke(consumer.queue);
    }
  }

  #closeConsumer(consumer: Consumer, error: AmqpError): void {
    this.#removeConsumer(consumer);
    // A receiver still waiting for a session has had no attach answer yet; it gets one with the detach.
    if (!isAttachAnswered(consumer.link)) consumer.link.open();
    if (consumer.link.is_open()) consumer.link.close(error);
  }

  #onSessionLockLost(holder: LockHolder): void {
    if (!(holder instanceof Consumer)) return;
    this.#closeConsumer(holder, {
      condition: amqpConditions.sessionLockLost,
      description: `The session lock has expired on the session with id ${holder.sessionId ?? ''}.`,
    });
  }

  // ---- transfers in --------------------------------------------------------------------

  #onTransfer(ctx: EventContext): void {
    const { receiver, delivery } = ctx;
    if (receiver === undefined || delivery === undefined) return;
    const inbound = this.#inbound.get(receiver);
    const state = this.#connectionOf(ctx.connection);
    if (inbound === undefined) {
      delivery.reject({ condition: amqpConditions.notFound, description: 'The link is not attached to an entity.' });
      return;
    }
    const format = (ctx as EventContext & { format?: number }).format ?? 0;
    switch (inbound.kind) {
      case 'cbs':
        this.#answerCbs(state, ctx.message);
        delivery.accept();
        return;
      case 'management': {
        const request = ctx.message;
        if (request !== undefined) this.#reply(state, request, answerManagementRequest(request, inbound));
        delivery.accept();
        this.poke(inbound.queue);
        return;
      }
      case 'entity':
        this.#acceptSend(inbound.queue, ctx.message, format, delivery);
        this.poke(inbound.queue);
        return;
    }
  }

  #acceptSend(queue: BrokerQueue, payload: unknown, format: number, delivery: Delivery): void {
    try {
      let messages: { message: Message; size: number }[];
      if (format === batchMessageFormat && Buffer.isBuffer(payload)) {
        if (payload.length > queue.config.maxMessageSizeBytes) {
          throw new AmqpConditionError(
            amqpConditions.messageSizeExceeded,
            `The received batch (size: ${payload.length} bytes) exceeds the limit (${queue.config.maxMessageSizeBytes} bytes) currently allowed on the link.`,
          );
        }
        messages = unpackBatch(payload).map((message) => ({ message, size: encodedSize(message) }));
      } else if (format === 0 && payload !== undefined && !Buffer.isBuffer(payload)) {
        const message = payload as Message;
        messages = [{ message, size: encodedSize(message) }];
      } else {
        throw new AmqpConditionError(amqpConditions.notImplemented, `Message format ${format} is not supported.`);
      }
      for (const m of messages) queue.checkSendable(m.message, m.size);
      for (const m of messages) queue.accept(m.message, m.size);
      delivery.accept();
    } catch (error) {
      delivery.reject(asCondition(error).toAmqpError());
    }
  }

  #answerCbs(state: ConnectionState, request: Message | undefined): void {
    if (request === undefined) return;
    const props = (request.application_properties ?? {}) as Record<string, unknown>;
    const audience = typeof props.name === 'string' ? props.name : '';
    const path = audiencePath(audience);
    const token = typeof request.body === 'string' ? request.body : '';
    const ok =
      props.operation === 'put-token' &&
      path !== undefined &&
      (props.type === cbsTokenTypes.jwt || (props.type === cbsTokenTypes.sas && isValidSasToken(token, this.options.credentials, this.#clock())));
    if (ok) state.authorizedPaths.add(path);
    this.#reply(state, request, {
      correlation_id: request.message_id,
      application_properties: ok
        ? { 'status-code': 202, 'status-description': 'Accepted' }
        : { 'status-code': 401, 'status-description': `Unauthorized: the token for '${audience}' was not accepted.` },
      body: null,
    });
  }

  #reply(state: ConnectionState, request: Message, response: Message): void {
    const replyTo = typeof request.reply_to === 'string' ? request.reply_to : undefined;
    const link = replyTo === undefined ? undefined : state.replyLinks.get(replyTo);
    if (link?.is_open() === true) link.send(response);
  }

  // ---- transfers out -----------------------------------------------------------------

  #onCredit(link: Sender | undefined): void {
    const consumer = link === undefined ? undefined : this.#consumerByLink.get(link);
    if (consumer?.active === true) this.#dispatch(consumer.queue);
  }

  /** Sends what is ready, then tells the client the rest of its credit is used up. */
  #onDrain(link: Sender | undefined): void {
    if (link === undefined) return;
    const consumer = this.#consumerByLink.get(link);
    if (consumer?.active === true) this.#dispatch(consumer.queue);
    if (isDraining(link)) link.set_drained(true);
  }

  #dispatch(queue: BrokerQueue): void {
    const consumers = this.#consumers.get(queue);
    if (consumers === undefined || consumers.size === 0) return;
    const ordered = [...consumers];
    let progress = true;
    while (progress) {
      progress = false;
      for (const consumer of ordered) {
        if (!consumer.active || consumer.availableCredit() <= 0) continue;
        if (consumer.sessionId !== undefined && queue.main.sessions.get(consumer.sessionId)?.holder !== consumer) continue;
        const next = queue.nextDeliverable(consumer.sub, consumer.sessionId);
        if (next === undefined) continue;
        this.#deliver(consumer, next);
        progress = true;
      }
    }
  }

  #deliver(consumer: Consumer, next: StoredMessage): void {
    const delivered = consumer.queue.deliver(consumer.sub, next, consumer.mode === receiveModes.peekLock ? consumer : undefined);
    const tag = uuidToDotNetBytes(delivered.lockToken ?? newLockToken());
    const delivery = consumer.link.send(encodeDelivered(delivered), tag, 0);
    consumer.queuedDeliveryIds.push(delivery.id);
    if (delivered.lockToken !== undefined) consumer.deliveries.set(delivery.id, delivered.lockToken);
  }

  // ---- dispositions --------------------------------------------------------------------

  #onDisposition(ctx: EventContext, kind: 'accepted' | 'rejected' | 'released' | 'modified'): void {
    const { sender, delivery } = ctx;
    if (sender === undefined || delivery === undefined) return;
    const consumer = this.#consumerByLink.get(sender) ?? this.#retired.get(sender);
    const lockToken = consumer?.deliveries.get(delivery.id);
    if (consumer === undefined || lockToken === undefined) {
      if (!delivery.settled) {
        delivery.update(true, amqp.rejected(new AmqpConditionError(amqpConditions.messageLockLost, 'The delivery is not known to hold a lock.').toAmqpError()));
      }
      forgetSettledDelivery(delivery);
      return;
    }
    consumer.deliveries.delete(delivery.id);
    const { outcome, details } = readOutcome(kind, delivery.remote_state);
    try {
      consumer.queue.settle(consumer.sub, lockToken, outcome, details, { holder: consumer });
      delivery.update(true, settledState(outcome));
    } catch (error) {
      delivery.update(true, amqp.rejected(asCondition(error).toAmqpError()));
    }
    forgetSettledDelivery(delivery);
    this.poke(consumer.queue);
  }

  // ---- time ------------------------------------------------------------------------------

  #tick(): void {
    for (const queue of this.#queues.values()) {
      queue.tick();
      this.poke(queue);
    }
  }
}

/** Answers an attach with a null terminus and an immediate detach carrying the reason. */
function refuse(link: Sender | Receiver, error: AmqpConditionError): void {
  if (!isAttachAnswered(link)) link.open();
  link.close(error.toAmqpError());
}

/** The broker settles with the outcome the client chose, never with an error. */
function settledState(outcome: SettleOutcome): object {
  switch (outcome) {
    case settleOutcomes.complete:
      return amqp.accepted();
    case settleOutcomes.abandon:
      return amqp.modified({ delivery_failed: true, undeliverable_here: false });
    case settleOutcomes.defer:
      return amqp.modified({ undeliverable_here: true });
    case settleOutcomes.deadLetter:
      return amqp.rejected();
  }
}

function unauthorized(address: string): AmqpConditionError {
  return new AmqpConditionError(amqpConditions.unauthorized, `Unauthorized access to '${address}': put a valid token on $cbs first.`);
}

function asCondition(error: unknown): AmqpConditionError {
  if (isAmqpConditionError(error)) return error;
  return new AmqpConditionError(amqpConditions.internalError, `The emulator could not process the request: ${error instanceof Error ? error.message : String(error)}`);
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function readOutcome(kind: 'accepted' | 'rejected' | 'released' | 'modified', state: unknown): { outcome: SettleOutcome; details: DeadLetterDetails } {
  const fields = (state ?? {}) as {
    undeliverable_here?: boolean;
    message_annotations?: Record<string, unknown>;
    error?: { condition?: string; description?: string; info?: Record<string, unknown> };
  };
  switch (kind) {
    case 'accepted':
      return { outcome: settleOutcomes.complete, details: {} };
    case 'released':
      return { outcome: settleOutcomes.abandon, details: {} };
    case 'modified': {
      const propertiesToModify = fields.message_annotations ?? undefined;
      return {
        outcome: fields.undeliverable_here === true ? settleOutcomes.defer : settleOutcomes.abandon,
        details: propertiesToModify === undefined ? {} : { propertiesToModify },
      };
    }
    case 'rejected': {
      const info = { ...(fields.error?.condition === deadLetterCondition ? fields.error.info : undefined) };
      const reason = info.DeadLetterReason;
      const description = info.DeadLetterErrorDescription;
      delete info.DeadLetterReason;
      delete info.DeadLetterErrorDescription;
      for (const key of Object.keys(info)) if (info[key] === undefined || info[key] === null) delete info[key];
      return {
        outcome: settleOutcomes.deadLetter,
        details: {
          ...(typeof reason === 'string' ? { reason } : {}),
          ...(typeof description === 'string' ? { description } : {}),
          ...(Object.keys(info).length > 0 ? { propertiesToModify: info } : {}),
        },
      };
    }
  }
}
