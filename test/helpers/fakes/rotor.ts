import type { Rotor } from '../../../src/app/compose.js';

/**
 * The process's Rotor for a test that runs functions over fakes (`useRotor`):
 * the parts given; a function that reaches for any other part fails, naming it.
 */
export function partialRotor(parts: Partial<Rotor>): Rotor {
  return new Proxy(parts, {
    get(target, key) {
      if (key in target) return target[key as keyof Rotor];
      // Promise.resolve(rotor) asks for `then`: a Rotor is not a thenable.
      if (key === 'then' || typeof key === 'symbol') return undefined;
      throw new Error(`this test's Rotor has no ${key}`);
    },
  }) as Rotor;
}
