import type { Clock } from '../../../src/rotation/ports.js';

export interface FakeClock extends Clock {
  advance(ms: number): void;
  set(ms: number): void;
}

/** A clock that moves only when told: scheduled steps become due by advancing it. */
export function createFakeClock(start = Date.parse('2025-06-01T12:00:00.000Z')): FakeClock {
  let now = start;
  return {
    now: () => new Date(now),
    advance: (ms) => {
      now += ms;
    },
    set: (ms) => {
      now = Math.max(now, ms);
    },
  };
}
