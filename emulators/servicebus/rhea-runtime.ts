/**
 * The few parts of rhea 3 the broker needs that its typings leave out, in one
 * place with a reason each. Everything else uses rhea's published types.
 */
import { Socket } from 'node:net';
import rhea from 'rhea';
import type { AmqpError, Delivery, Message, Sender, link } from 'rhea';

/** A delivery outcome as rhea encodes it (a described composite). */
export type Outcome = object;

interface OutcomeFactory {
  described(): Outcome;
}

// rhea defines the outcome constructors at runtime (message.js `define_outcome`)
// but does not declare them.
const outcomes = rhea.message as unknown as {
  accepted(): OutcomeFactory;
  rejected(fields: { error?: AmqpError }): OutcomeFactory;
  modified(fields: { delivery_failed?: boolean; undeliverable_here?: boolean }): OutcomeFactory;
};

export const amqp = {
  types: rhea.types,
  encodeMessage: (message: Message | Record<string, unknown>): Buffer => rhea.message.encode(message),
  decodeMessage: (buffer: Buffer): Message => rhea.message.decode(buffer) as unknown as Message,
  accepted: (): Outcome => outcomes.accepted().described(),
  rejected: (error?: AmqpError): Outcome => outcomes.rejected(error === undefined ? {} : { error }).described(),
  modified: (fields: { delivery_failed?: boolean; undeliverable_here?: boolean }): Outcome => outcomes.modified(fields).described(),
  createContainer: (id: string) =>
    rhea.create_container({
      id,
      // The broker decides every outcome itself: no automatic accept of
      // incoming transfers, and `modified` (abandon, defer) kept distinct
      // from `released`.
      autoaccept: false,
      treat_modified_as_released: false,
    }),
};

/** SASL ANONYMOUS, as the SDK uses with `UseDevelopmentEmulator=true` (rhea types the mechanism list as `any`). */
export function allowAnonymousSasl(container: { sasl_server_mechanisms: unknown }): void {
  (container.sasl_server_mechanisms as { enable_anonymous(): void }).enable_anonymous();
}

interface LinkInternals {
  local: { attach: Record<string, unknown> };
  state: { local_open: boolean; open_requests: number };
  remote: { attach?: Record<string, unknown> };
}

function internals(l: link): LinkInternals {
  return l as unknown as LinkInternals;
}

/**
 * Sets a field of the attach frame the broker answers with. rhea sends the
 * answer on the next tick after the remote attach, so fields set in the
 * `*_open` handler still go out (source echo, session filter, max message size).
 */
export function setLocalAttachField(l: link, field: string, value: unknown): void {
  internals(l).local.attach[field] = value;
}

/** The remote attach frame's `properties` (rhea's `link.properties` alias). */
export function remoteAttachProperties(l: link): Record<string, unknown> {
  const props = internals(l).remote.attach?.properties;
  return typeof props === 'object' && props !== null ? (props as Record<string, unknown>) : {};
}

/**
 * rhea answers every remote attach at once. A receiver asking for "the next
 * available session" must instead wait until a session is free or its
 * timeout passes, so the broker withdraws the automatic answer and sends it
 * later with `link.open()`.
 */
export function holdAttachAnswer(l: link): void {
  const state = internals(l).state;
  if (state.local_open && state.open_requests > 0) {
    state.local_open = false;
    state.open_requests -= 1;
  }
}

export function isAttachAnswered(l: link): boolean {
  return internals(l).state.local_open;
}

interface SenderInternals {
  _draining: boolean;
  _drained: boolean;
  credit: number;
  delivery_count: number;
  _get_drain(): boolean;
  session: { outgoing: { next_pending_delivery: number } };
}

/**
 * A receiver ends every `receiveMessages` with a drain. rhea only echoes
 * `drain=true` while credit remains, but when the broker's own transfers used
 * the last credit the client still waits for that flow (and closes its link
 * after a timeout if none comes). This sender answers every drain.
 */
export function answerEveryDrain(sender: Sender): void {
  const s = sender as unknown as SenderInternals;
  s._get_drain = function answerDrain(this: SenderInternals): boolean {
    if (!this._draining || !this._drained) return false;
    this.delivery_count += this.credit;
    this.credit = 0;
    return true;
  };
}

/** Credit the client has granted and rhea has not yet used (declared on rhea's links, not in its typings). */
export function creditOf(sender: Sender): number {
  return (sender as unknown as SenderInternals).credit;
}

export function isDraining(sender: Sender): boolean {
  return (sender as unknown as SenderInternals)._draining;
}

/**
 * rhea lowers `credit` only when a transfer is written (next tick), so a
 * sender that queues several deliveries in one tick must count the ones not
 * yet written itself. Delivery ids rise per session; those at or above the
 * session's next pending id are still queued.
 */
export function nextPendingDeliveryId(sender: Sender): number {
  return (sender as unknown as SenderInternals).session.outgoing.next_pending_delivery;
}

/**
 * rhea frees an outgoing delivery only once both ends have settled it. The
 * SDK's receivers (settle mode "second") never send a settle after the
 * broker's, so without this every delivery would stay in the session's
 * buffer and a session would stall after 2,048 messages.
 */
export function forgetSettledDelivery(delivery: Delivery): void {
  (delivery as unknown as { remote_settled: boolean }).remote_settled = true;
}

/**
 * Outgoing deliveries per AMQP session that may be unsettled at once. A
 * delivery waiting for its receiver's decision (say, a lock left to expire)
 * holds back the release of all later ones, so the buffer is generous.
 */
export const sessionBufferSize = 1 << 16;

/** The TCP socket under a server-side connection (rhea keeps it but does not declare it). */
export function socketOf(connection: unknown): Socket | undefined {
  const socket = (connection as { socket?: unknown }).socket;
  return socket instanceof Socket ? socket : undefined;
}
