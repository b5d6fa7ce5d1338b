/**
 * What the engine's own errors share: a code from a closed set, whether a
 * retry may mend it (decided by the code, never by the text), and the
 * Retry-After the other side gave. Messages are value-free: they reach the
 * ledger and notifications.
 */
export abstract class CodedError<Code extends string> extends Error {
  readonly code: Code;
  readonly transient: boolean;
  /** When the other side said when to come back (429 Retry-After): the retry is scheduled no earlier. */
  readonly retryAfterMs?: number;

  protected constructor(code: Code, transientCodes: ReadonlySet<Code>, message: string, options?: ErrorOptions & { readonly retryAfterMs?: number }) {
    super(message, options);
    this.code = code;
    this.transient = transientCodes.has(code);
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}
