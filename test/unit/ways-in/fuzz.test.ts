import { HttpRequest, HttpResponse } from '@azure/functions';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleGetRotation, handleListSecretRotations, handleStartRotation } from '../../../src/api/routes.js';
import { receiveKeyVaultEvent } from '../../../src/events/intake.js';
import { fixture } from '../../helpers/fixtures.js';
import { createFakeWaysIn, secretInfo } from '../../helpers/fakes/entry.js';

/**
 * Hostile input at the two doors anyone can knock on: every answer must be a
 * deliberate one (an outcome of the closed set, a status the API documents),
 * never a throw, never an unhandled rejection.
 */

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

const validEvent = (fixture('events/keyvault/secret-near-expiry.eventgrid.json') as Record<string, unknown>[])[0]!;
const validCloudEvent = fixture('events/keyvault/secret-near-expiry.cloudevents.json') as Record<string, unknown>;

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom('__proto__', 'constructor', 'https://sample-kv.vault.azure.net/secrets/../../x/1', '\u0000', '1e309', 'NaN', '-1', ' ', 'Secret'),
  fc.string({ minLength: 5000, maxLength: 6000 }),
);
const hostileValue = fc.oneof(fc.anything({ maxDepth: 3 }), hostileString, fc.double(), fc.constant(null));

/** A valid event with one field (envelope or data) replaced, removed or duplicated under another casing. */
function mutated(base: Record<string, unknown>): fc.Arbitrary<unknown> {
  const data = base.data as Record<string, unknown>;
  return fc.oneof(
    fc.record({ key: fc.constantFrom(...Object.keys(base), '__proto__', 'specversion', 'eventType'), value: hostileValue }).map(({ key, value }) => ({ ...base, [key]: value })),
    fc.record({ key: fc.constantFrom(...Object.keys(data), 'id', 'exp', 'NBF ', '__proto__'), value: hostileValue }).map(({ key, value }) => ({ ...base, data: { ...data, [key]: value } })),
    fc.constantFrom(...Object.keys(data)).map((key) => {
      const copy = { ...data };
      delete copy[key];
      return { ...base, data: copy };
    }),
  );
}

// Thousands of runs take seconds on an idle machine and far longer on a busy one;
// the budget bounds a hang, it is not a speed assertion (speed lives in bench/).
const fuzzBudget = { timeout: 300_000 };

describe('fuzzing the intake', fuzzBudget, () => {
  it('answers thousands of malformed and hostile events with a deliberate outcome', async () => {
    // Prepare
    const { services } = createFakeWaysIn({ secrets: [secretInfo('db-password', 'ee059b2bb5bc48398a53b168c6cdcb10', { tags: { 'rotor-rotator': 'random' } })] });
    const outcomes = new Set<string>();

    // Act
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileValue, mutated(validEvent), mutated(validCloudEvent)), async (input) => {
        const result = await receiveKeyVaultEvent(input, services);
        outcomes.add(result.outcome);
        return ['started', 'duplicate', 'ignored', 'rejected'].includes(result.outcome);
      }),
      { numRuns: 3000 },
    );

    // Assess
    expect(unhandled).toEqual([]);
    expect(outcomes).toContain('rejected');
    expect(outcomes).toContain('ignored');
  });
});

describe('fuzzing the API', fuzzBudget, () => {
  const documented = new Set([200, 202, 400, 404, 409, 413, 415, 422]);

  async function answer(init: Parameters<typeof handleStartRotation>[0], handler: typeof handleStartRotation, services: Parameters<typeof handleStartRotation>[1]) {
    const response = new HttpResponse(await handler(init, services));
    const text = await response.text();
    return { status: response.status, type: response.headers.get('content-type') ?? '', text };
  }

  const bodyArbitrary = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 400 }),
    fc.json({ maxDepth: 3 }),
    fc.record(
      { vault: hostileValue, secret: fc.oneof(hostileValue, fc.constant('db-password')), dryRun: hostileValue, reason: hostileValue, extra: hostileValue },
      { requiredKeys: [] },
    ).map((o) => JSON.stringify(o) ?? 'null'),
  );
  const contentType = fc.option(fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/merge-patch+json', '', 'multipart/form-data; boundary=x'), { nil: undefined });

  it('answers thousands of hostile POST bodies with a documented status, and problem+json for every error', async () => {
    const { services, ledger } = createFakeWaysIn({ secrets: [secretInfo('db-password', 'v1', { tags: { 'rotor-rotator': 'random' } })] });

    await fc.assert(
      fc.asyncProperty(bodyArbitrary, contentType, async (body, type) => {
        const request = new HttpRequest({ method: 'POST', url: 'http://localhost/api/rotations', body: { string: body }, headers: type === undefined ? {} : { 'content-type': type } });
        const res = await answer(request, handleStartRotation, services);
        expect(documented).toContain(res.status);
        if (res.status >= 400) expect(res.type).toBe('application/problem+json');
        if (res.status >= 400) expect(JSON.parse(res.text).errors ?? []).toBeInstanceOf(Array);
        // Let the next run start from a free secret.
        ledger.releaseAll();
      }),
      { numRuns: 2000 },
    );

    expect(unhandled).toEqual([]);
  });

  it('answers thousands of hostile path and query parameters with a documented status', async () => {
    const { services } = createFakeWaysIn();

    await fc.assert(
      fc.asyncProperty(hostileString, hostileString, hostileString, async (id, limit, token) => {
        const get = new HttpRequest({ method: 'GET', url: 'http://localhost/api/rotations/x', params: { id } });
        const list = new HttpRequest({ method: 'GET', url: 'http://localhost/api/secrets/x/rotations', params: { name: id }, query: { limit, continuationToken: token } });
        const a = await answer(get, handleGetRotation, services);
        const b = await answer(list, handleListSecretRotations, services);
        expect(documented).toContain(a.status);
        expect(documented).toContain(b.status);
      }),
      { numRuns: 1000 },
    );

    expect(unhandled).toEqual([]);
  });
});
