import { describe, expect, it } from 'vitest';
import { presentRotation, presentRotationSummary } from '../../../src/api/present.js';
import type { Rotation } from '../../../src/rotation/model.js';

const rotation: Rotation = {
  id: 'r1',
  secret: { vaultUrl: 'https://kv.vault.azure.net', name: 'api-key' },
  trigger: { kind: 'manual', reason: 'test' },
  rotator: 'random',
  strategy: 'single',
  status: 'Completed',
  step: 'retire',
  dryRun: false,
  createdAt: '2026-12-04T12:00:00.000Z',
  updatedAt: '2026-12-04T12:01:00.000Z',
  deadline: '2026-12-04T14:00:00.000Z',
  versions: { previous: 'v1', promoted: 'v2' },
  policy: { rotator: 'random', strategy: 'single', validityMs: 86_400_000, graceMs: 0, health: [{ url: 'https://app/health?code=k3y', expectStatus: 200 }], tags: { 'rotor-rotator': 'random', other: 'x' } },
  steps: [{ step: 'begin', attempt: 1, startedAt: '2026-12-04T12:00:00.000Z', endedAt: '2026-12-04T12:00:01.000Z', outcome: 'succeeded' }],
  undo: [],
};
const links = { self: 'https://api/rotations/r1', history: 'https://api/secrets/api-key/rotations' };

describe('API mappers', () => {
  it('show a rotation field by field, the policy without raw tags or probe query', () => {
    // Act
    const view = presentRotation(rotation, links) as Record<string, unknown>;

    // Assess
    expect(view).toMatchObject({ id: 'r1', status: 'Completed', versions: { previous: 'v1', promoted: 'v2' }, links });
    expect(view.policy).toEqual({ valid: true, rotator: 'random', strategy: 'single', validitySeconds: 86_400, graceSeconds: 0, health: [{ url: 'https://app/health', expectStatus: 200 }] });
    expect(JSON.stringify(view)).not.toContain('k3y');
  });

  it('show each declared consumer of the rotation: entry, state, versions and Rotor\'s report, nothing else', () => {
    // Prepare
    const consumer = { entry: 'https://app.example/rotor', kind: 'https', state: 'adopted', nudgedAt: '2026-12-04T12:00:30.000Z', nudge: 'CloudEvent accepted (202)', version: 'v2', report: 'uses version v2', adoptedAt: '2026-12-04T12:00:31.000Z' } as const;
    const withConsumers = { ...rotation, adoption: { timeoutMs: 60_000, deadline: '2026-12-04T12:01:30.000Z', consumers: [{ ...consumer, futureField: 'x' }] } } as unknown as Rotation;

    // Act
    const view = presentRotation(withConsumers, links) as Record<string, unknown>;

    // Assess
    expect(view.adoption).toEqual({ timeoutMs: 60_000, deadline: '2026-12-04T12:01:30.000Z', consumers: [consumer] });
  });

  it('leave out a field the record gains later until a mapper lists it', () => {
    // Prepare: a record with fields no mapper knows (a future addition, at every level)
    const grown = {
      ...rotation,
      futureField: 'not-for-the-api',
      versions: { ...rotation.versions, futureVersion: 'v9' },
      steps: rotation.steps.map((s) => ({ ...s, futureStepField: 'x' })),
    } as Rotation;
    const summary = { id: 'r1', secret: rotation.secret, status: rotation.status, step: rotation.step, trigger: rotation.trigger, createdAt: rotation.createdAt, futureField: 'y' };

    // Act
    const text = JSON.stringify([presentRotation(grown, links), presentRotationSummary(summary, links.self)]);

    // Assess
    expect(text).not.toContain('future');
  });
});
