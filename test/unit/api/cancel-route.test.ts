import { HttpRequest, HttpResponse, type HttpResponseInit } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { handleCancelRotation } from '../../../src/api/cancel-route.js';
import type { CancelRotation, CancelRotationResult } from '../../../src/rotation/cancel-types.js';
import { createFakeWaysIn } from '../../helpers/fakes/entry.js';

const BASE = 'http://localhost:7071/api';

function cancelWith(result: CancelRotationResult): CancelRotation & { calls: { id: string; reason?: string }[] } {
  const calls: { id: string; reason?: string }[] = [];
  return Object.assign(
    (id: string, options: { reason?: string } = {}) => {
      calls.push({ id, ...options });
      return Promise.resolve(result);
    },
    { calls },
  );
}

function post(id: string, body?: string, headers: Record<string, string> = { 'content-type': 'application/json' }): HttpRequest {
  return new HttpRequest({ method: 'POST', url: `${BASE}/rotations/${id}/cancel`, params: { id }, headers, ...(body === undefined ? {} : { body: { string: body } }) });
}

async function read(init: HttpResponseInit): Promise<{ status: number; type: string | null; location: string | null; body: any }> /* eslint-disable-line @typescript-eslint/no-explicit-any -- JSON bodies under test */ {
  const response = new HttpResponse(init);
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), location: response.headers.get('location'), body: text === '' ? undefined : JSON.parse(text) };
}

describe('POST /api/rotations/{id}/cancel', () => {
  it('answers 202 with the rotation to follow, passing the reason on', async () => {
    const { services } = createFakeWaysIn();
    const cancel = cancelWith({ outcome: 'cancelling', rotationId: 'r-1', via: 'undo' });

    const res = await read(await handleCancelRotation(post('r-1', JSON.stringify({ reason: 'wrong secret' })), { ...services, cancelRotation: cancel }));

    expect(res.status).toBe(202);
    expect(res.location).toBe(`${BASE}/rotations/r-1`);
    expect(res.body).toMatchObject({ rotationId: 'r-1', outcome: 'cancelling', via: 'undo' });
    expect(cancel.calls).toEqual([{ id: 'r-1', reason: 'wrong secret' }]);
  });

  it('takes an empty body as a cancel without a reason', async () => {
    const { services } = createFakeWaysIn();
    const cancel = cancelWith({ outcome: 'cancelling', rotationId: 'r-1', via: 'rollback' });

    const res = await read(await handleCancelRotation(post('r-1', undefined, {}), { ...services, cancelRotation: cancel }));

    expect(res.status).toBe(202);
    expect(cancel.calls).toEqual([{ id: 'r-1' }]);
  });

  it.each<[string, CancelRotationResult, number, string]>([
    ['an unknown rotation', { outcome: 'not-found' }, 404, 'rotation-not-found'],
    ['a rotation that ended', { outcome: 'ended', status: 'Completed' }, 409, 'rotation-ended'],
    ['a rotation past verify', { outcome: 'verified', step: 'retire' }, 409, 'rotation-verified'],
  ])('answers %s with %i', async (_name, result, status, type) => {
    const { services } = createFakeWaysIn();

    const res = await read(await handleCancelRotation(post('r-1'), { ...services, cancelRotation: cancelWith(result) }));

    expect(res.status).toBe(status);
    expect(res.type).toBe('application/problem+json');
    expect(res.body.type).toBe(`urn:rotor:problem:${type}`);
  });

  it.each([
    ['a bad id', 'bad id!', undefined, 'id', 'path'],
    ['an unknown field', 'r-1', JSON.stringify({ why: 'x' }), 'why', 'body'],
    ['a reason that is not a string', 'r-1', JSON.stringify({ reason: 5 }), 'reason', 'body'],
    ['a body that is not JSON', 'r-1', '{', '(body)', 'body'],
  ])('answers %s with 400 naming the field, and cancels nothing', async (_name, id, body, field, where) => {
    const { services } = createFakeWaysIn();
    const cancel = cancelWith({ outcome: 'not-found' });

    const res = await read(await handleCancelRotation(post(id, body), { ...services, cancelRotation: cancel }));

    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ field, in: where });
    expect(cancel.calls).toEqual([]);
  });

  it('answers 500 without internals when the engine throws', async () => {
    const { services } = createFakeWaysIn();

    const res = await read(await handleCancelRotation(post('r-1'), { ...services, cancelRotation: () => Promise.reject(new Error('storage down at 10.0.0.4')) }));

    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain('10.0.0.4');
  });
});
