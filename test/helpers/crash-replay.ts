import { expect } from 'vitest';
import type { SecretRef } from '../../src/keyvault/secret-ref.js';
import { pendingRef } from '../../src/rotation/pending.js';
import type { Rotator } from '../../src/rotation/rotator.js';
import type { EnginePorts, FakeWorld } from './fakes/world.js';

/**
 * Crash-replay harness for invariant I4: "a crash between any two writes is
 * recovered by redelivery, and ends exactly where a clean run ends".
 *
 * A *write* is any call that changes the world: a Key Vault write, a queue
 * send, a ledger write, a notification, a rotator's provider call. The harness
 *
 * 1. runs the scenario once with a counting (never firing) `CrashSwitch`, to
 *    learn how many writes a clean run makes and its end state;
 * 2. for every N in 1..writes, builds a fresh world, arms the switch to throw
 *    `SimulatedCrash` right *after* the Nth write (the write happened, the
 *    handler never learned it did), runs the scenario again — the step pump
 *    treats the throw as Service Bus would (abandon, redeliver at once), a
 *    crashed `startRotation` is retried by `untilNoCrash` as Event Grid or an
 *    HTTP client would — and takes the end state.
 *
 * Only a crash that reaches the caller counts: one the engine swallows (a
 * notification or an audit line is best effort, so a crash after
 * `notifier.notify` never leaves the handler) is reported as
 * `propagated: false`, not as a crash point. With `twice: true` every case is run again with a second crash
 * after a later write of the same run, so recovery itself is crashed. For
 * the dead-letter path, see `failDeadLetters`.
 *
 * Every case's snapshot must equal the clean one. Usage (a rotator helper
 * testing its own rotator):
 *
 * ```ts
 * const report = await replayEveryCrash({
 *   createWorld: (crash) => createFakeWorld({ rotators: [myRotator], wrapPorts: (ports) => crashingPorts(ports, crash) }),
 *   run: async (world) => {
 *     await untilNoCrash(() => world.engine.startRotation(ref, trigger));
 *     await world.drain();
 *   },
 *   snapshot: async (world) => ({ ...describeEndState(world, ref, initialValue), provider: await myProviderState() }),
 * });
 * expect(report.writes).toBeGreaterThan(0);
 * for (const c of report.cases) expect(c.snapshot, `crash after write ${c.crashAfter} (${c.label})`).toEqual(report.clean);
 * ```
 */
export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
  /** Set when a caller that stands for the platform (step pump, `untilNoCrash`) caught it: the crash really ended the invocation. */
  propagated = false;
}

/** Called where the platform catches an invocation's failure: marks a simulated crash as one that got out. */
export function notePropagated(error: unknown): void {
  if (error instanceof SimulatedCrash) error.propagated = true;
}

export function isSimulatedCrash(error: unknown): error is SimulatedCrash {
  return error instanceof SimulatedCrash;
}

export interface CrashSwitch {
  /**
   * Crash right after the `n`th write from now on (counting from 1), and after
   * each further write number given (`arm(3, 7)`: after the 3rd and the 7th);
   * `undefined` only counts.
   */
  arm(n: number | undefined, ...more: number[]): void;
  /** Called by wrapped ports after each write; throws `SimulatedCrash` at each armed write, once. */
  afterWrite(label: string): void;
  /** Labels of all writes seen, in order (`secretStore.setSecret`, `ledger.updateRotation`, ...). */
  readonly writes: readonly string[];
  /** The label of the write after which the first crash fired, if it did. */
  readonly fired: string | undefined;
  /** Every crash thrown so far, in order, with whether it got out to the caller. */
  readonly crashes: readonly { readonly label: string; readonly error: SimulatedCrash }[];
}

export function createCrashSwitch(): CrashSwitch {
  const writes: string[] = [];
  let armedAt = new Set<number>();
  const crashes: { label: string; error: SimulatedCrash }[] = [];
  return {
    writes,
    crashes,
    get fired() {
      return crashes[0]?.label;
    },
    arm(n, ...more) {
      armedAt = new Set(n === undefined ? [] : [n, ...more].map((k) => writes.length + k));
      crashes.length = 0;
    },
    afterWrite(label) {
      writes.push(label);
      if (armedAt.delete(writes.length)) {
        const error = new SimulatedCrash(`simulated crash after write #${writes.length} (${label})`);
        crashes.push({ label, error });
        throw error;
      }
    },
  };
}

/**
 * Wraps `target` so each listed method reports to the switch after it
 * resolved (a write that happened). Other members pass through untouched.
 */
export function crashAfterWrites<T extends object>(target: T, methods: readonly (keyof T & string)[], crash: CrashSwitch, name: string): T {
  const wrapped = new Set<string>(methods);
  return new Proxy(target, {
    get(object, property, receiver) {
      const member: unknown = Reflect.get(object, property, receiver);
      if (typeof property !== 'string' || !wrapped.has(property) || typeof member !== 'function') return member;
      return async (...args: unknown[]) => {
        const result: unknown = await (member as (...a: unknown[]) => Promise<unknown>).apply(object, args);
        crash.afterWrite(`${name}.${property}`);
        return result;
      };
    },
  });
}

/** Every world-changing method of the engine's ports, and of each rotator, wrapped. */
export function crashingPorts(ports: EnginePorts, crash: CrashSwitch): EnginePorts {
  return {
    secretStore: crashAfterWrites(ports.secretStore, ['setSecret', 'setEnabled'], crash, 'secretStore'),
    stepQueue: crashAfterWrites(ports.stepQueue, ['sendStep'], crash, 'stepQueue'),
    ledger: crashAfterWrites(ports.ledger, ['createRotation', 'updateRotation', 'acquireLock', 'releaseLock', 'appendAudit'], crash, 'ledger'),
    notifier: crashAfterWrites(ports.notifier, ['notify'], crash, 'notifier'),
    healthProbe: ports.healthProbe,
    rotators: ports.rotators.map((r) => crashingRotator(r, crash)),
  };
}

export function crashingRotator(rotator: Rotator, crash: CrashSwitch): Rotator {
  return crashAfterWrites(rotator, ['prepare', 'apply', 'restore', 'revoke'], crash, `rotator(${rotator.kind})`);
}

/** Retries `action` while it crashes: the caller's own retry (Event Grid redelivery, an HTTP client). */
export async function untilNoCrash<T>(action: () => Promise<T>, attempts = 50): Promise<T> {
  for (let i = 1; ; i += 1) {
    try {
      return await action();
    } catch (error) {
      notePropagated(error);
      if (!isSimulatedCrash(error) || i >= attempts) throw error;
    }
  }
}

export interface CrashReplayScenario<W, S> {
  /** A fresh world whose ports report to `crash` (see `crashingPorts`). */
  createWorld(crash: CrashSwitch): W | Promise<W>;
  /** Drives the rotation to its end; must replay crashes (the step pump does; wrap start in `untilNoCrash`). */
  run(world: W): Promise<void>;
  /** The end state to compare: no timestamps, generated ids or values. */
  snapshot(world: W): S | Promise<S>;
  dispose?(world: W): void | Promise<void>;
}

export interface CrashReplayCase<S> {
  readonly crashAfter: number;
  readonly label: string;
  /** The crash was thrown (the write happened). */
  readonly fired: boolean;
  /** It got out of the invocation to the platform, which redelivered; `false`: the engine swallowed it. */
  readonly propagated: boolean;
  /** With `twice`: the second crash of the run, after write number `crashAfter` of that run. */
  readonly second?: { readonly crashAfter: number; readonly label: string | undefined; readonly propagated: boolean };
  readonly snapshot: S;
}

export interface CrashReplayReport<S> {
  /** Writes of the clean run. */
  readonly writes: number;
  readonly clean: S;
  readonly cleanWrites: readonly string[];
  readonly cases: readonly CrashReplayCase<S>[];
  /** Runs in which every armed crash fired and got out: the crash points that really count. */
  readonly crashes: number;
  /** Writes after which a crash fired but the engine swallowed it (never redelivered), by label. */
  readonly swallowed: readonly string[];
}

export interface CrashReplayOptions {
  /** Also crash each run a second time, after a later write (the next one, and one further on). */
  readonly twice?: boolean;
}

export async function replayEveryCrash<W, S>(scenario: CrashReplayScenario<W, S>, options: CrashReplayOptions = {}): Promise<CrashReplayReport<S>> {
  const counting = createCrashSwitch();
  const cleanWorld = await scenario.createWorld(counting);
  await scenario.run(cleanWorld);
  const clean = await scenario.snapshot(cleanWorld);
  await scenario.dispose?.(cleanWorld);
  const cleanWrites = [...counting.writes];

  const plans: number[][] = [];
  for (let n = 1; n <= cleanWrites.length; n += 1) {
    plans.push([n]);
    // The write right after the first crash is usually the redelivery's first: recovery crashes at once.
    if (options.twice === true) plans.push([n, n + 1], [n, n + 1 + (n % 5)]);
  }
  const cases: CrashReplayCase<S>[] = [];
  for (const [n, second] of plans as [number, number | undefined][]) {
    const crash = createCrashSwitch();
    const world = await scenario.createWorld(crash);
    if (second === undefined) crash.arm(n);
    else crash.arm(n, second);
    await scenario.run(world);
    const [first, next] = crash.crashes;
    cases.push({
      crashAfter: n,
      label: cleanWrites[n - 1] ?? '?',
      fired: first !== undefined,
      propagated: first?.error.propagated ?? false,
      ...(second === undefined ? {} : { second: { crashAfter: second, label: next?.label, propagated: next?.error.propagated ?? false } }),
      snapshot: await scenario.snapshot(world),
    });
    await scenario.dispose?.(world);
  }
  const counted = cases.filter((c) => c.propagated && (c.second === undefined || c.second.propagated));
  const swallowed = cases.filter((c) => c.fired && !c.propagated).map((c) => c.label);
  return { writes: cleanWrites.length, clean, cleanWrites, cases, crashes: counted.length, swallowed: [...new Set(swallowed)] };
}

/** Writes after which the engine swallows a failure by design: a notification and an audit line are best effort. */
export const bestEffortWrites: ReadonlySet<string> = new Set(['notifier.notify', 'ledger.appendAudit']);

/** A replayed crash got out of the invocation and was redelivered, unless it followed a best-effort write (then it does not count). */
export function expectCrashPropagated(replay: CrashReplayCase<unknown>): void {
  expect(replay.fired, `crash after write ${replay.crashAfter} (${replay.label}) fired`).toBe(true);
  if (!replay.propagated) expect(bestEffortWrites, `crash after write ${replay.crashAfter} (${replay.label}) was swallowed`).toContain(replay.label);
  if (replay.second !== undefined && replay.second.label !== undefined && !replay.second.propagated) {
    expect(bestEffortWrites, `second crash after write ${replay.second.crashAfter} (${replay.second.label}) was swallowed`).toContain(replay.second.label);
  }
}

/**
 * The dead-letter path, as the Functions host drives it: every message the
 * pump dead-lettered goes to the dead-letter handler (`engine.failRotation`),
 * which a crash makes the platform deliver again (`untilNoCrash`); then the
 * steps that sends (a rollback) run. Call after a drain in a crash-replay run.
 */
export async function failDeadLetters(world: FakeWorld, reason = 'MaxDeliveryCountExceeded'): Promise<number> {
  let handled = 0;
  while (world.queue.deadLettered.length > 0) {
    const message = world.queue.deadLettered.shift()!;
    await untilNoCrash(() => world.engine.failRotation(message.body as never, reason));
    handled += 1;
    await world.drain();
  }
  return handled;
}

/**
 * A comparable picture of a fake world after a rotation of `secret`: its
 * versions (enabled, whether they hold the initial value, engine tags), the
 * pending companion's versions, each rotation's status, step history and undo
 * stack, locks held, messages left, notifications. Generated ids become
 * ordinals and values become "initial"/"other", so two runs compare equal
 * exactly when they did the same things.
 */
export function describeEndState(world: FakeWorld, secret: SecretRef, initialValue: string): unknown {
  const ids = new Map<string, string>();
  const alias = (id: string | undefined): string | undefined => {
    if (id === undefined) return undefined;
    if (!ids.has(id)) ids.set(id, `#${ids.size}`);
    return ids.get(id);
  };
  const versions = world.store.versions(secret).map((v) => ({
    id: alias(v.version),
    enabled: v.enabled,
    value: v.value === initialValue ? 'initial' : 'other',
    rotation: alias(v.tags['rotor-rotation']),
    slot: v.tags['rotor-slot'],
    tags: Object.keys(v.tags).sort(),
  }));
  const pending = world.store.versions(pendingRef(secret)).map((v) => ({ id: alias(v.version), enabled: v.enabled, rotation: alias(v.tags['rotor-rotation']) }));
  const rotations = world.ledger.rotations().map((r) => ({
    id: alias(r.id),
    status: r.status,
    step: r.step,
    reason: r.reason,
    steps: r.steps.map((s) => `${s.step}#${s.attempt}:${s.outcome}${s.error === undefined ? '' : `(${s.error.code})`}`),
    undo: r.undo.map((u) => `${u.step}:${u.action}`),
    versions: Object.fromEntries(Object.entries(r.versions).map(([k, v]) => [k, alias(v)])),
  }));
  return {
    versions,
    pending,
    rotations,
    locks: [...world.ledger.locks().values()].map(alias),
    queued: world.queue.pending.length,
    deadLettered: world.queue.deadLettered.length,
    notifications: [...new Set(world.notifier.sent.map((n) => `${n.type}:${alias(n.rotationId) ?? ''}`))].sort(),
  };
}
