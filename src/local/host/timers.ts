import type { Timer } from '@azure/functions';
import type { Logger } from '../../observability/logger.js';
import type { InvocationContext } from '../functions-classes.js';
import { parseNcrontab, type NcrontabSchedule } from '../ncrontab.js';
import { resolveAppSetting, type FunctionRegistration } from '../registrations.js';

/** The local host's timer triggers: six-field NCRONTAB schedules, a run never overlapping the previous one. */
export interface TimerTriggersOptions {
  readonly functions: readonly FunctionRegistration[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** `schedule` runs timers on their schedule; `manual` only through `run`. */
  readonly mode: 'schedule' | 'manual';
  readonly contextFor: (functionName: string) => InstanceType<typeof InvocationContext>;
  readonly track: <T>(work: Promise<T>) => Promise<T>;
  readonly stopping: AbortSignal;
}

export interface TimerTriggers {
  /** Runs a timer function now (waiting for a run already in progress first). */
  run(functionName: string): Promise<void>;
  stop(): void;
}

export function startTimerTriggers(options: TimerTriggersOptions): TimerTriggers {
  const { log, contextFor, track } = options;
  interface TimerState {
    readonly registration: Extract<FunctionRegistration, { trigger: 'timer' }>;
    readonly schedule: NcrontabSchedule;
    last?: Date;
    next: Date;
    running?: Promise<void>;
    handle?: NodeJS.Timeout;
  }
  const timers = new Map<string, TimerState>();
  /** Runs once, after any run in progress: the runtime never overlaps a timer function with itself. */
  const runTimerState = async (state: TimerState, isPastDue: boolean): Promise<void> => {
    while (state.running !== undefined) await state.running;
    const run = (async () => {
      const now = new Date();
      const timer: Timer = {
        isPastDue,
        schedule: { adjustForDST: false },
        scheduleStatus: { last: (state.last ?? now).toISOString(), next: state.schedule.next(now).toISOString(), lastUpdated: now.toISOString() },
      };
      state.last = now;
      try {
        await state.registration.options.handler(timer, contextFor(state.registration.name));
      } catch (error) {
        log.error('timer function threw', { function: state.registration.name, error });
      }
    })();
    state.running = run;
    try {
      await track(run);
    } finally {
      state.running = undefined;
    }
  };
  const arm = (state: TimerState): void => {
    if (options.stopping.aborted) return;
    const delay = Math.min(Math.max(0, state.next.getTime() - Date.now()), 2 ** 31 - 1);
    state.handle = setTimeout(() => {
      if (Date.now() < state.next.getTime()) {
        arm(state);
        return;
      }
      state.next = state.schedule.next(new Date());
      // An occurrence due while the previous run still goes is skipped, not queued.
      if (state.running === undefined) void runTimerState(state, false);
      arm(state);
    }, delay);
    state.handle.unref();
  };
  for (const registration of options.functions) {
    if (registration.trigger !== 'timer') continue;
    const schedule = parseNcrontab(resolveAppSetting(registration.options.schedule, options.env));
    const state: TimerState = { registration, schedule, next: schedule.next(new Date()) };
    timers.set(registration.name.toLowerCase(), state);
    if (options.mode === 'schedule') {
      if (registration.options.runOnStartup === true) void runTimerState(state, false);
      arm(state);
    }
  }

  return {
    async run(functionName) {
      const state = timers.get(functionName.toLowerCase());
      if (state === undefined) throw new Error(`No timer function named ${functionName}`);
      await runTimerState(state, false);
    },
    stop() {
      for (const state of timers.values()) clearTimeout(state.handle);
    },
  };
}
