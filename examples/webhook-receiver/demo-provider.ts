import { randomBytes } from 'node:crypto';
import type { RotorHandler, RotorRequest } from './receiver.js';

/**
 * A stand-in for the system whose credential is rotated: an API with two key
 * slots (`key1`, `key2`) for the alternating strategy, or one key (`key`)
 * for single. Replace the body of each step with calls to your provider.
 * Every step is idempotent per (rotationId, step), because Rotor may deliver a
 * step again after a crash or a 5xx.
 */
export interface DemoProvider {
  readonly handle: RotorHandler;
  /** Whether the provider accepts `value` now (what your API would check). */
  accepts(value: string): boolean;
  /** The keys the provider holds, by slot. */
  readonly slots: Map<string, string>;
}

export function createDemoProvider(initial: Record<string, string> = {}): DemoProvider {
  const slots = new Map(Object.entries(initial));
  const preparedBy = new Map<string, { credential: string; slot: string }>();
  const accepts = (value: string): boolean => [...slots.values()].includes(value);

  const steps: Record<RotorRequest['step'], (r: RotorRequest) => object | undefined> = {
    prepare(r) {
      const earlier = preparedBy.get(r.rotationId);
      if (earlier !== undefined) return { ...earlier, refs: { keyName: earlier.slot } };
      const credential = randomBytes(24).toString('base64url');
      const slot = r.strategy === 'alternating' ? (r.current.slot === 'key1' ? 'key2' : 'key1') : 'key';
      // alternating: the inactive slot changes now; single: nothing changes until apply.
      if (r.strategy === 'alternating') slots.set(slot, credential);
      preparedBy.set(r.rotationId, { credential, slot });
      return { credential, slot, refs: { keyName: slot } };
    },
    apply(r) {
      if (r.credential !== undefined) slots.set(r.credential.slot ?? 'key', r.credential.value);
      return undefined;
    },
    test(r) {
      return r.credential !== undefined && accepts(r.credential.value) ? { ok: true } : { ok: false, reason: 'the provider does not know this key' };
    },
    restore(r) {
      if (r.strategy === 'single' && r.credential !== undefined) slots.set('key', r.credential.value);
      if (r.strategy === 'alternating' && r.prepared?.slot !== undefined && slots.get(r.prepared.slot) === r.prepared.value) slots.delete(r.prepared.slot);
      return undefined;
    },
    revoke(r) {
      // By value, not slot: a key a later rotation replaced is already gone, and must stay untouched.
      for (const [slot, value] of slots) if (value === r.credential?.value) slots.delete(slot);
      return undefined;
    },
  };

  return {
    handle: (request) => Promise.resolve(steps[request.step](request)),
    accepts,
    slots,
  };
}
