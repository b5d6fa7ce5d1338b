/**
 * What can go wrong for the operator CLI. Each error maps to one exit code, so
 * a script can tell a typo from an unreachable API from a rotation that failed.
 */

export const ExitCode = {
  /** The command did what was asked (with `--wait`/`--watch`: the rotation Completed). */
  Ok: 0,
  /** The API answered with an error, could not be reached, or answered something unreadable. */
  ApiError: 1,
  /** The command line is wrong: unknown command or flag, missing or bad value. */
  Usage: 2,
  /** With `--wait`/`--watch`: the rotation ended RolledBack, Failed, Aborted or Skipped. */
  RotationNotCompleted: 3,
  /** With `--wait`/`--watch`: the timeout passed while the rotation was still running. */
  TimedOut: 4,
  /** `rotate --dry-run`: the answer is "would not rotate" (a check failed). */
  WouldNotRotate: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const CliErrorCode = {
  Usage: 'usage',
  Problem: 'problem',
  Unreachable: 'unreachable',
  BadResponse: 'bad-response',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

export class CliError extends Error {
  readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
  }
}

/** A bad command line; the message names the command or flag at fault. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(CliErrorCode.Usage, message);
    this.name = 'UsageError';
  }
}

/** One field of a problem+json `errors` array. */
export interface ProblemField {
  readonly field: string;
  readonly in: string;
  readonly detail: string;
}

/** The API answered with an error status; `body` is the problem+json as sent (for `--json`). */
export class ApiProblemError extends CliError {
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly fields: readonly ProblemField[];
  readonly body: unknown;
  readonly activeRotationId: string | undefined;
  constructor(init: {
    status: number;
    title: string;
    detail?: string;
    fields?: readonly ProblemField[];
    body?: unknown;
    activeRotationId?: string;
  }) {
    super(CliErrorCode.Problem, init.title);
    this.name = 'ApiProblemError';
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail;
    this.fields = init.fields ?? [];
    this.body = init.body;
    this.activeRotationId = init.activeRotationId;
  }
}

/** No HTTP answer at all: refused, DNS, TLS, reset. `url` is shown without query or credentials. */
export class ApiUnreachableError extends CliError {
  readonly url: string;
  readonly reason: string;
  constructor(url: string, reason: string, options?: ErrorOptions) {
    super(CliErrorCode.Unreachable, `Cannot reach the Rotor API at ${url} (${reason})`, options);
    this.name = 'ApiUnreachableError';
    this.url = url;
    this.reason = reason;
  }
}

/** An answer that is not the shape the API documents (a proxy's HTML page, a different service). */
export class BadResponseError extends CliError {
  constructor(message: string) {
    super(CliErrorCode.BadResponse, message);
    this.name = 'BadResponseError';
  }
}

export function isCliError(error: unknown): error is CliError {
  return error instanceof CliError;
}

export function isUsageError(error: unknown): error is UsageError {
  return error instanceof UsageError;
}

export function isApiProblemError(error: unknown): error is ApiProblemError {
  return error instanceof ApiProblemError;
}

export function isApiUnreachableError(error: unknown): error is ApiUnreachableError {
  return error instanceof ApiUnreachableError;
}
