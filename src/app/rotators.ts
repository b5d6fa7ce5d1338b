import { createRandomRotator } from '../rotators/random/random-rotator.js';
import type { Rotator } from '../rotators/rotator.js';

/** The rotators this build ships; each rotator's module adds itself here. */
export function builtInRotators(): Rotator[] {
  return [createRandomRotator()];
}
