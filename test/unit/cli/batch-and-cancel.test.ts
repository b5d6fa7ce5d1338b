import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, on, startFakeApi, type FakeApi, type Reply } from './fake-api.js';

let api: FakeApi;
let env: Record<string, string>;
const VAULT = 'https://kv-app.vault.azure.net';
const BATCH = 'b-0123456789abcdef01234567';

beforeAll(async () => {
  api = await startFakeApi();
  env = { ROTOR_API_URL: api.url, ROTOR_API_KEY: 'k' };
});
afterAll(async () => {
  await api.close();
});

const ok = (body: unknown, status = 200): Reply => ({ status, body });

function batchBody(statuses: (string | undefined)[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const items = [
    ...statuses.map((status, i) => ({ secret: `s${i}`, outcome: 'started', rotationId: `r-${i}`, ...(status === undefined ? {} : { status }) })),
    { secret: 'legacy', outcome: 'skipped', reason: 'unmanaged: no rotor-rotator tag' },
  ];
  const counts: Record<string, number> = {};
  for (const s of statuses) if (s !== undefined) counts[s] = (counts[s] ?? 0) + 1;
  const done = statuses.every((s) => s !== undefined && s !== 'Running');
  return { batchId: BATCH, id: BATCH, vault: VAULT, reason: 'INC-1', dryRun: false, createdAt: '2026-11-22T12:00:00.000Z', items, counts, skipped: 1, done, ...extra };
}

function progression(...bodies: unknown[]): () => Reply {
  let i = 0;
  return () => ok(bodies[Math.min(i++, bodies.length - 1)]);
}

describe('rotor rotate --all', () => {
  it('posts the batch and follows it with a progress line per change until every rotation ended', async () => {
    // Prepare
    api.use(
      on('POST', '/api/rotations:batch', ok(batchBody([undefined, undefined, undefined]), 202)),
      on('GET', `/api/batches/${BATCH}`, progression(batchBody(['Running', 'Running', 'Running']), batchBody(['Completed', 'Running', 'Running']), batchBody(['Completed', 'Completed', 'Completed']))),
    );

    // Act
    const run = await cli(['rotate', '--all', '--vault', VAULT, '--reason', 'INC-1'], env);

    // Assess
    expect(run.code).toBe(0);
    expect(api.requests[0]?.body).toEqual({ vault: VAULT, selector: 'all', reason: 'INC-1' });
    expect(run.stdout).toContain('skipped legacy: unmanaged');
    expect(run.stdout).toMatch(/\[#{10}\.{20}\] 1\/3 ended {2}Completed 1 {2}Running 2/);
    expect(run.stdout).toMatch(/\[#{30}\] 3\/3 ended {2}Completed 3/);
    expect(run.stdout).toContain('3 of 3 rotations Completed, 0 did not, 1 secrets skipped');
    expect(run.slept.length).toBe(2);
  });

  it('redraws one line on a terminal and exits 3 when a rotation did not complete', async () => {
    api.use(
      on('POST', '/api/rotations:batch', ok(batchBody([undefined, undefined]), 202)),
      on('GET', `/api/batches/${BATCH}`, progression(batchBody(['Running', 'Running']), batchBody(['Completed', 'RolledBack']))),
    );

    const run = await cli(['rotate', '--tag', 'team=orders', '--tag', 'tier=1', '--reason', 'INC-2', '--force', '--no-color'], env, { tty: true });

    expect(run.code).toBe(3);
    expect(api.requests[0]?.body).toEqual({ selector: { tags: { team: 'orders', tier: '1' } }, reason: 'INC-2', force: true });
    expect(run.stdout).toContain('\r[');
    expect(run.stdout).toContain('RolledBack s1: rotor status r-1');
  });

  it('a dry run lists what would rotate and starts nothing', async () => {
    api.use(
      on('POST', '/api/rotations:batch', ok({ ...batchBody([]), dryRun: true, items: [{ secret: 'a', outcome: 'would-rotate' }, { secret: 'legacy', outcome: 'skipped', reason: 'unmanaged' }] })),
    );

    const run = await cli(['rotate', '--all', '--reason', 'rehearsal', '--dry-run'], env);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('1 would rotate, 1 skipped');
    expect(api.requests.map((r) => r.method)).toEqual(['POST']);
  });

  it('stops following at --timeout with exit 4, the batch going on', async () => {
    api.use(on('POST', '/api/rotations:batch', ok(batchBody([undefined]), 202)), on('GET', `/api/batches/${BATCH}`, ok(batchBody(['Running']))));

    const run = await cli(['rotate', '--all', '--reason', 'INC-3', '--timeout', '5s'], env);

    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`rotor status ${BATCH} --watch`);
  });

  it.each([
    [['rotate', '--all', '--tag', 'a=b', '--reason', 'x'], /exclude each other/],
    [['rotate', '--all'], /needs --reason/],
    [['rotate', '--all', 'db-password', '--reason', 'x'], /not by name/],
    [['rotate', '--tag', 'nokey', '--reason', 'x'], /KEY=VALUE/],
  ])('refuses %j as a usage error', async (argv, message) => {
    const run = await cli(argv, env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});

it('rotor rotate <secret> --force sends force for a paused secret', async () => {
  api.use(on('POST', '/api/rotations', ok({ rotationId: 'r-1', outcome: 'started', secret: { vaultUrl: VAULT, name: 'db-password' } }, 202)));

  const run = await cli(['rotate', 'db-password', '--force'], env);

  expect(run.code).toBe(0);
  expect(api.requests[0]?.body).toEqual({ secret: 'db-password', force: true });
});

describe('rotor status <batch-id>', () => {
  it('shows the batch progress', async () => {
    api.use(on('GET', `/api/batches/${BATCH}`, ok(batchBody(['Completed', 'Running']))));

    const run = await cli(['status', BATCH], env);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('1/2 ended');
  });
});

describe('rotor cancel', () => {
  it('posts the cancel with the reason and says how it ends', async () => {
    api.use(on('POST', '/api/rotations/r-9/cancel', ok({ rotationId: 'r-9', outcome: 'cancelling', via: 'undo' }, 202)));

    const run = await cli(['cancel', 'r-9', '--reason', 'wrong secret'], env);

    expect(run.code).toBe(0);
    expect(api.requests[0]?.body).toEqual({ reason: 'wrong secret' });
    expect(run.stdout).toContain('ends Cancelled');
  });

  it('shows the 409 of a verified rotation and exits 1', async () => {
    api.use(
      on('POST', '/api/rotations/r-9/cancel', {
        status: 409,
        body: { type: 'urn:rotor:problem:rotation-verified', title: 'The new credential is verified and stands', status: 409, detail: 'Rotation r-9 passed verify' },
      }),
    );

    const run = await cli(['cancel', 'r-9'], env);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('verified and stands (HTTP 409)');
  });
});
