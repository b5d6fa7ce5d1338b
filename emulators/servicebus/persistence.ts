/**
 * The emulator's state on disk, for a local stack that survives `kill -9`.
 *
 * One snapshot file, `servicebus.json` in the data directory, rewritten
 * (write to a temporary file, fsync, rename) whenever a queue changed and
 * before the emulator sends any frame: a client is never told of a change
 * (a send accepted, a message delivered, a settlement, a lock renewed,
 * session state set) that a crash could then lose. What a crash can and
 * cannot replay is in README.md, "Persistence".
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { amqp } from './rhea-runtime.js';
import type { QueueConfig } from './queue-config.js';
import { queueConfigSchema } from './queue-config.js';
import type { PersistedMessage, QueueState } from './queue.js';

const FORMAT = 'rotor-servicebus-emulator-state/1';

export interface BrokerState {
  readonly queues: readonly { readonly config: QueueConfig; readonly state: QueueState }[];
}

const finite = z.number();
const persistedMessage = z.object({
  sub: z.enum(['main', 'deadLetter']),
  key: finite,
  sequenceNumber: finite,
  messageIdKey: z.string().optional(),
  sessionId: z.string().optional(),
  message: z.string(),
  size: finite,
  enqueuedAt: finite,
  expiresAt: finite.optional(),
  state: z.enum(['active', 'deferred', 'scheduled']),
  scheduledFor: finite.optional(),
  readyAt: finite,
  deliveryCount: finite,
  order: finite,
  lock: z.object({ token: z.string(), lockedUntil: finite, sessionBound: z.boolean() }).optional(),
});
const fileSchema = z.object({
  format: z.literal(FORMAT),
  queues: z.array(
    z.object({
      config: queueConfigSchema,
      state: z.object({
        nextSequence: finite,
        nextOrder: finite,
        nextKey: finite,
        duplicates: z.array(z.tuple([z.string(), finite])),
        counters: z.record(z.string(), finite),
        messages: z.array(persistedMessage),
        sessions: z.array(z.object({ id: z.string(), held: z.boolean(), lockedUntil: finite, state: z.string().optional(), updatedAt: finite })),
      }),
    }),
  ),
});

export class ServiceBusStateFile {
  readonly path: string;

  constructor(
    dataDir: string,
    /** fsync each snapshot (survives a power cut, not only a killed process); a few milliseconds per change. */
    private readonly fsync = true,
  ) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, 'servicebus.json');
  }

  /** The saved state; `undefined` when there is none yet. A file that does not parse stops start-up, naming it. */
  load(): BrokerState | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`Service Bus emulator state file ${this.path} is not JSON; delete it (or start with --fresh) to begin empty`);
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`Service Bus emulator state file ${this.path} is not valid: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim());
    }
    return {
      queues: parsed.data.queues.map(({ config, state }) => ({
        config,
        state: {
          ...state,
          duplicates: state.duplicates,
          messages: state.messages.map((m): PersistedMessage => ({
            ...m,
            messageIdKey: m.messageIdKey,
            sessionId: m.sessionId,
            expiresAt: m.expiresAt,
            scheduledFor: m.scheduledFor,
            lock: m.lock,
            message: amqp.decodeMessage(Buffer.from(m.message, 'base64')),
          })),
          sessions: state.sessions.map((s) => ({ ...s, state: s.state === undefined ? undefined : Buffer.from(s.state, 'base64') })),
        },
      })),
    };
  }

  save(state: BrokerState): void {
    const text = JSON.stringify({
      format: FORMAT,
      queues: state.queues.map(({ config, state: q }) => ({
        config,
        state: {
          ...q,
          messages: q.messages.map((m) => ({ ...m, message: amqp.encodeMessage(m.message).toString('base64') })),
          sessions: q.sessions.map((s) => ({ ...s, state: s.state?.toString('base64') })),
        },
      })),
    });
    const temporary = `${this.path}.tmp`;
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, text);
      if (this.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.path);
  }
}
