import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { EmulatorAdminError } from './errors.js';
import { vaultOperationNames, type VaultOperation } from './operations.js';

/**
 * Faults an admin can inject in front of the vault: an error status, extra
 * latency, or a dropped connection, for the next N calls of an operation or
 * for a fraction of them. Latency adds up with an error or reset; the first
 * matching error/reset rule decides the answer.
 */
export const faultRuleInput = z
  .object({
    operation: z.enum([...vaultOperationNames, 'any'], {
      error: `must be one of ${[...vaultOperationNames, 'any'].join(', ')}`,
    }),
    effect: z.discriminatedUnion('kind', [
      z.object({
        kind: z.literal('status'),
        status: z.union([z.literal(429), z.literal(500), z.literal(503)], { error: 'must be 429, 500 or 503' }),
        /** Off by default: Key Vault's own 429 usually carries no Retry-After. */
        retryAfterSeconds: z.number().int().min(0).optional(),
      }),
      z.object({ kind: z.literal('latency'), ms: z.number().int().min(0).max(120_000) }),
      z.object({ kind: z.literal('reset') }),
    ]),
    /** The next `times` matching calls. */
    times: z.number().int().min(1).optional(),
    /** Each matching call with this probability. */
    fraction: z.number().min(0).max(1).optional(),
  })
  .refine((rule) => rule.times === undefined || rule.fraction === undefined, {
    message: 'give either times or fraction, not both',
    path: ['times'],
  });
export type FaultRuleInput = z.input<typeof faultRuleInput>;
export type FaultEffect = z.output<typeof faultRuleInput>['effect'];

export interface FaultRule {
  readonly id: string;
  readonly operation: VaultOperation | 'any';
  readonly effect: FaultEffect;
  readonly fraction?: number | undefined;
  /** Calls still to be hit; `undefined` for fraction/always rules. */
  remaining?: number | undefined;
}

export interface FaultDecision {
  readonly latencyMs: number;
  readonly failure?: Exclude<FaultEffect, { kind: 'latency' }> | undefined;
}

export class FaultInjector {
  #rules: FaultRule[] = [];

  constructor(private readonly random: () => number) {}

  add(input: FaultRuleInput): FaultRule {
    const result = faultRuleInput.safeParse(input);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new EmulatorAdminError(issue?.path.join('.') || 'rule', issue?.message ?? 'is invalid');
    }
    const parsed = result.data;
    const rule: FaultRule = {
      id: randomUUID(),
      operation: parsed.operation,
      effect: parsed.effect,
      fraction: parsed.fraction,
      remaining: parsed.times,
    };
    this.#rules.push(rule);
    return rule;
  }

  list(): FaultRule[] {
    return this.#rules.map((r) => ({ ...r }));
  }

  remove(id: string): boolean {
    const before = this.#rules.length;
    this.#rules = this.#rules.filter((r) => r.id !== id);
    return this.#rules.length < before;
  }

  clear(): void {
    this.#rules = [];
  }

  /** Decides what happens to one call of `operation`, consuming counted rules. */
  decide(operation: VaultOperation): FaultDecision {
    let latencyMs = 0;
    let failure: FaultDecision['failure'];
    for (const rule of this.#rules) {
      if (rule.operation !== 'any' && rule.operation !== operation) continue;
      if (rule.effect.kind !== 'latency' && failure !== undefined) continue;
      if (rule.fraction !== undefined && this.random() >= rule.fraction) continue;
      if (rule.remaining !== undefined) rule.remaining -= 1;
      if (rule.effect.kind === 'latency') latencyMs += rule.effect.ms;
      else failure = rule.effect;
    }
    this.#rules = this.#rules.filter((r) => r.remaining === undefined || r.remaining > 0);
    return { latencyMs, failure };
  }
}
