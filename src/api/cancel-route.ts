import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import type { CancelRotation } from '../rotation/cancel-types.js';
import type { EntryServices } from '../entry/services.js';
import { problem, ProblemType } from './problem.js';
import { checkBody, checkParam, instanceOf, readJsonBody, rotationIdSchema } from './requests.js';


export const cancelBodySchema = z.strictObject({
  reason: z
    .string({ error: 'must be a string' })
    .max(500, 'must be at most 500 characters')
    .refine((v) => ![...v].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || c.codePointAt(0) === 0x7f), 'must not contain control characters')
    .optional(),
});

function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

/** An empty body is a cancel without a reason; anything else must be the JSON object. */
async function readOptionalBody(request: HttpRequest): Promise<{ ok: true; value: unknown } | { ok: false; response: HttpResponseInit }> {
  const text = await request.clone().text();
  if (text.trim() === '') return { ok: true, value: {} };
  return readJsonBody(request);
}

/** `POST /api/rotations/{id}/cancel` `{ reason? }`: 202 while it undoes or rolls back; 404; 409 once ended or verified. */
export function handleCancelRotation(request: HttpRequest, services: EntryServices): Promise<HttpResponseInit> {
  const instance = instanceOf(request);
  return (async () => {
    try {
      const cancelRotation: CancelRotation | undefined = services.cancelRotation;
      if (cancelRotation === undefined) throw new Error('no engine to cancel with');
      const id = checkParam(request, 'id', rotationIdSchema);
      if (!id.ok) return id.response;
      const raw = await readOptionalBody(request);
      if (!raw.ok) return raw.response;
      const body = checkBody(request, cancelBodySchema, raw.value);
      if (!body.ok) return body.response;

      const result = await cancelRotation(id.value, body.value.reason === undefined ? {} : { reason: body.value.reason });
      services.log.info('cancel requested', { rotationId: id.value, outcome: result.outcome });
      switch (result.outcome) {
        case 'cancelling': {
          const location = new URL(instance.replace(/\/cancel$/, ''), request.url).href;
          return json(202, { rotationId: result.rotationId, outcome: result.outcome, via: result.via, location }, { location });
        }
        case 'not-found':
          return problem(ProblemType.RotationNotFound, 404, `No rotation has the id ${id.value}`, {
            instance,
            errors: [{ field: 'id', in: 'path', detail: 'no such rotation' }],
          });
        case 'ended':
          return problem(ProblemType.RotationEnded, 409, `Rotation ${id.value} already ended ${result.status}; there is nothing to cancel`, {
            instance,
            extensions: { status: result.status },
          });
        case 'verified':
          return problem(
            ProblemType.RotationVerified,
            409,
            `Rotation ${id.value} passed verify: the new credential is in use and stands, so it cannot be cancelled. Rotate again to replace it.`,
            { instance, extensions: { step: result.step } },
          );
      }
    } catch (error) {
      services.log.error('request failed', { method: request.method, path: instance, error });
      return problem(ProblemType.Internal, 500, 'An internal error occurred; it has been logged. Retry later.', { instance });
    }
  })();
}
