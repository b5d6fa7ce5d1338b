/**
 * The emulator's notion of "now". It runs with real time from an adjustable
 * offset, so `created`/`updated`, soft-delete purge dates, throttling windows
 * and expiry events can all be moved weeks ahead in one admin call.
 */
export interface EmulatorClock {
  nowMs(): number;
  now(): Date;
  /** Moves time forward (or back, with a negative value) by `ms`. */
  advance(ms: number): void;
  set(time: Date): void;
  /** Called after every change, with the previous and new time. */
  onChange(listener: (previousMs: number, nowMs: number) => void): void;
}

export function createEmulatorClock(start?: Date, realNow: () => number = Date.now): EmulatorClock {
  let offset = start === undefined ? 0 : start.getTime() - realNow();
  const listeners: Array<(previousMs: number, nowMs: number) => void> = [];
  const nowMs = (): number => realNow() + offset;
  const move = (deltaMs: number): void => {
    const previous = nowMs();
    offset += deltaMs;
    const current = nowMs();
    for (const listener of listeners) listener(previous, current);
  };
  return {
    nowMs,
    now: () => new Date(nowMs()),
    advance: (ms) => move(ms),
    set: (time) => move(time.getTime() - nowMs()),
    onChange: (listener) => {
      listeners.push(listener);
    },
  };
}
