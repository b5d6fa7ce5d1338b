import { vaultOperationNames, type VaultOperation } from './operations.js';

/** What one operation has seen since start (or the last reset). */
export interface OperationCounts {
  /** Authenticated calls that reached the operation, whatever their outcome. */
  calls: number;
  /** Calls answered 429, by the throttle or by an injected fault. */
  throttled: number;
  /** Calls answered with any other error status, or whose connection was reset. */
  errors: number;
  /** Calls an injected fault (status, latency or reset) touched. */
  faulted: number;
}

export interface CallCountsSnapshot {
  /** Unauthenticated requests answered with the 401 challenge. */
  challenges: number;
  operations: Record<VaultOperation, OperationCounts>;
}

const zero = (): OperationCounts => ({ calls: 0, throttled: 0, errors: 0, faulted: 0 });

export class CallCounters {
  #challenges = 0;
  #operations = CallCounters.#empty();

  static #empty(): Record<VaultOperation, OperationCounts> {
    return Object.fromEntries(vaultOperationNames.map((op) => [op, zero()])) as Record<VaultOperation, OperationCounts>;
  }

  challenge(): void {
    this.#challenges += 1;
  }

  call(operation: VaultOperation): void {
    this.#operations[operation].calls += 1;
  }

  faulted(operation: VaultOperation): void {
    this.#operations[operation].faulted += 1;
  }

  /** Counts the answer: `status` 0 means the connection was reset. */
  answered(operation: VaultOperation, status: number): void {
    if (status === 429) this.#operations[operation].throttled += 1;
    else if (status === 0 || status >= 400) this.#operations[operation].errors += 1;
  }

  snapshot(): CallCountsSnapshot {
    return { challenges: this.#challenges, operations: structuredClone(this.#operations) };
  }

  reset(): void {
    this.#challenges = 0;
    this.#operations = CallCounters.#empty();
  }
}
