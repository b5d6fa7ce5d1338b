import type { HttpResponseInit } from '@azure/functions';
import type { z } from 'zod';

/**
 * RFC 9457 problem details. Every error the API answers is one of these, with
 * `errors` naming each bad field so a client (or an operator with curl) can
 * fix the request without reading logs.
 */

export const ProblemType = {
  InvalidRequest: 'invalid-request',
  UnsupportedMediaType: 'unsupported-media-type',
  PayloadTooLarge: 'payload-too-large',
  NotFound: 'not-found',
  SecretNotFound: 'secret-not-found',
  RotationNotFound: 'rotation-not-found',
  RotationActive: 'rotation-active',
  BatchNotFound: 'batch-not-found',
  RotationEnded: 'rotation-ended',
  RotationVerified: 'rotation-verified',
  SecretPaused: 'secret-paused',
  StaleTrigger: 'stale-trigger',
  VaultNotAllowed: 'vault-not-allowed',
  NotManaged: 'not-managed',
  InvalidPolicy: 'invalid-policy',
  ConsumersNotFound: 'consumers-not-found',
  PreconditionFailed: 'precondition-failed',
  Unauthorized: 'unauthorized',
  MethodNotAllowed: 'method-not-allowed',
  Internal: 'internal-error',
  Unavailable: 'service-unavailable',
} as const;
export type ProblemType = (typeof ProblemType)[keyof typeof ProblemType];

const titles: Record<ProblemType, string> = {
  'invalid-request': 'The request is not valid',
  'unsupported-media-type': 'The request body must be JSON',
  'payload-too-large': 'The request body is too large',
  'not-found': 'Not found',
  'secret-not-found': 'The secret does not exist',
  'rotation-not-found': 'The rotation does not exist',
  'rotation-active': 'A rotation of this secret is already active',
  'batch-not-found': 'The batch does not exist',
  'rotation-ended': 'The rotation has already ended',
  'rotation-verified': 'The new credential is verified and stands',
  'secret-paused': 'The secret is paused',
  'stale-trigger': 'The version is no longer the latest',
  'vault-not-allowed': 'The vault is not one Rotor may rotate in',
  'not-managed': 'The secret has no Rotor policy',
  'invalid-policy': "The secret's Rotor policy is not valid",
  'consumers-not-found': 'The secret has no registered consumers',
  'precondition-failed': 'The resource changed since it was read',
  unauthorized: 'A function key is required',
  'method-not-allowed': 'Method not allowed',
  'internal-error': 'Rotor could not complete the request',
  'service-unavailable': 'A service Rotor depends on is not answering',
};

/** Where the field sits: a JSON pointer into the body, or a query, path or header parameter. */
export interface ProblemField {
  readonly field: string;
  readonly in: 'body' | 'query' | 'path' | 'header' | 'tag';
  readonly detail: string;
  /** RFC 6901 pointer for body fields (`#/secret`). */
  readonly pointer?: string;
}

export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
  readonly errors?: readonly ProblemField[];
  readonly [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemTypeUri(type: ProblemType): string {
  return `urn:rotor:problem:${type}`;
}

export function problem(
  type: ProblemType,
  status: number,
  detail: string,
  options: { readonly instance?: string; readonly errors?: readonly ProblemField[]; readonly extensions?: Record<string, unknown> } = {},
): HttpResponseInit {
  const body: ProblemDetails = {
    type: problemTypeUri(type),
    title: titles[type],
    status,
    detail,
    ...(options.instance === undefined ? {} : { instance: options.instance }),
    ...(options.errors === undefined ? {} : { errors: options.errors }),
    ...options.extensions,
  };
  return { status, headers: { 'content-type': PROBLEM_CONTENT_TYPE }, body: JSON.stringify(body) };
}

function pointerOf(path: readonly PropertyKey[]): string {
  return `#/${path.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;
}

/** zod issues as problem fields; an unknown key is named as its own field. */
export function fieldsFromZod(error: z.ZodError, location: ProblemField['in']): ProblemField[] {
  const fields: ProblemField[] = [];
  for (const issue of error.issues) {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    for (const path of keys) {
      const field = path.length === 0 ? '(body)' : path.map(String).join('.');
      const detail = issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message;
      fields.push({ field, in: location, detail, ...(location === 'body' ? { pointer: pointerOf(path) } : {}) });
    }
  }
  return fields;
}
