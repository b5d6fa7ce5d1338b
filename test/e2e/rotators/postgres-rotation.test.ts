import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresRotator, decodeCredential } from '../../../src/rotators/postgres/index.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import {
  createCrashSwitch,
  crashingPorts,
  describeEndState,
  untilNoCrash,
  type CrashReplayCase,
  type CrashReplayReport,
  type CrashReplayScenario, expectCrashPropagated } from '../../helpers/crash-replay.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/embedded-postgres.js';
import { createFakeWorld, FAKE_VAULT, type FakeWorld, type FakeWorldOptions } from '../../helpers/fakes/index.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';

/**
 * Whole rotations through the engine (its step machine, pending companion,
 * rollback and revoke-after, on the engine's in-memory ports and step pump)
 * with the PostgreSQL rotator against a real PostgreSQL. Every "logs in"
 * below is a real SCRAM login.
 */
const secret = { vaultUrl: FAKE_VAULT, name: 'orders-db' };
const HEALTH = 'https://orders.example/health';
const ADMIN_PASSWORD = `admin-${randomUUID()}`;
const INITIAL_PASSWORD = `initial-${randomUUID()}`;
const SINGLE_INITIAL = `single-initial-${randomUUID()}`;

let db: TestPostgres;

type Strategy = 'alternating' | 'single';

interface Scenario {
  readonly strategy: Strategy;
  /** The consumer is healthy only on the initial credential: verification fails and the rotation rolls back. */
  readonly consumerBreaks?: boolean;
  readonly revokeAfter?: string;
}

function initialValue(strategy: Strategy): string {
  return strategy === 'alternating'
    ? JSON.stringify({ username: 'app_a', password: INITIAL_PASSWORD })
    : JSON.stringify({ username: 'app_user', password: SINGLE_INITIAL });
}

function build(scenario: Scenario, wrapPorts?: FakeWorldOptions['wrapPorts']): FakeWorld {
  const world = createFakeWorld({
    rotators: [createPostgresRotator({ connectTimeoutMs: 5_000 })],
    // Two verify attempts are enough to roll back; more only repeat the same logins.
    settings: { maxStepAttempts: 2 },
    ...(wrapPorts === undefined ? {} : { wrapPorts }),
  });
  world.store.seed({ vaultUrl: FAKE_VAULT, name: 'pg-admin' }, { value: JSON.stringify({ username: 'rotor_admin', password: ADMIN_PASSWORD }) });
  world.store.seed(secret, {
    value: initialValue(scenario.strategy),
    contentType: 'application/vnd.rotor.postgres+json',
    tags: {
      'rotor-rotator': 'postgres',
      'rotor-strategy': scenario.strategy,
      'rotor-target': scenario.strategy === 'alternating' ? 'app_a,app_b' : 'app_user',
      'rotor-pg-server': db.serverUrl,
      'rotor-pg-admin-secret': 'pg-admin',
      'rotor-grace': 'PT2M',
      'rotor-health': HEALTH,
      ...(scenario.strategy === 'alternating' ? { 'rotor-slot': 'app_a' } : {}),
      ...(scenario.revokeAfter === undefined ? {} : { 'rotor-revoke-after': scenario.revokeAfter }),
    },
  });
  if (scenario.consumerBreaks === true) {
    const initial = initialValue(scenario.strategy);
    world.health.setRule(HEALTH, () => world.store.versions(secret).filter((v) => v.enabled).at(-1)?.value === initial);
  }
  return world;
}

/** Does this stored value log in right now? */
async function logsIn(value: string): Promise<boolean> {
  const { username, password } = decodeCredential(SecretValue.from(value));
  return username !== undefined && db.canLogin(username, password.reveal());
}

function latestEnabled(world: FakeWorld): string {
  return world.store.versions(secret).filter((v) => v.enabled).at(-1)!.value;
}

async function rotate(world: FakeWorld, afterDelivery?: Parameters<FakeWorld['drain']>[0]): Promise<void> {
  const version = world.store.versions(secret).filter((v) => v.enabled).at(-1)!.version;
  await untilNoCrash(() => world.engine.startRotation(secret, { kind: 'event', eventType: 'Microsoft.KeyVault.SecretNearExpiry', version }));
  await world.drain(afterDelivery);
}

async function roleNames(): Promise<string[]> {
  const result = await db.query<{ rolname: string }>("SELECT rolname::text AS rolname FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%' ORDER BY rolname");
  return result.rows.map((r) => r.rolname);
}

/**
 * The database's side of the end state: the roles that exist, and per login
 * role how many of the values the rotation ever stored (pending companion
 * included) log in, and whether the secret's latest enabled value does.
 */
async function databaseState(world: FakeWorld, strategy: Strategy): Promise<unknown> {
  const roles = strategy === 'alternating' ? ['app_a', 'app_b'] : ['app_user'];
  const values = [...new Set([initialValue(strategy), ...world.store.allValues()])].map((v) => decodeCredential(SecretValue.from(v)));
  const perRole: Record<string, number> = {};
  for (const role of roles) {
    let working = 0;
    for (const value of values) if (value.username === role && (await db.canLogin(role, value.password.reveal()))) working += 1;
    perRole[role] = working;
  }
  return { roles: await roleNames(), workingPerRole: perRole, latestLogsIn: await logsIn(latestEnabled(world)) };
}

/**
 * `replayEveryCrash` from the engine's harness, at the crash points where the
 * database is involved: right after each rotator write (the change happened at
 * PostgreSQL, the engine never learned of it) and after each further write up
 * to the step's ledger checkpoint. The engine's own suite crashes after every
 * write with a fake provider; these are the points where a replay re-runs a
 * rotator method against the real server. Each world costs a few hundred
 * milliseconds of real logins, so all ~40 points per scenario would not fit
 * the test budget.
 */
async function replayCrashesAroundRotator<S>(scenario: CrashReplayScenario<FakeWorld, S>): Promise<CrashReplayReport<S>> {
  const counting = createCrashSwitch();
  const cleanWorld = await scenario.createWorld(counting);
  await scenario.run(cleanWorld);
  const clean = await scenario.snapshot(cleanWorld);
  const cleanWrites = [...counting.writes];
  const points: number[] = [];
  cleanWrites.forEach((label, index) => {
    if (!label.startsWith('rotator(')) return;
    for (let n = index + 1; n <= cleanWrites.length; n += 1) {
      points.push(n);
      if (cleanWrites[n - 1] === 'ledger.updateRotation') break;
    }
  });
  const cases: CrashReplayCase<S>[] = [];
  for (const n of [...new Set(points)]) {
    const crash = createCrashSwitch();
    const world = await scenario.createWorld(crash);
    crash.arm(n);
    await scenario.run(world);
    const first = crash.crashes[0];
    cases.push({ crashAfter: n, label: cleanWrites[n - 1] ?? '?', fired: first !== undefined, propagated: first?.error.propagated ?? false, snapshot: await scenario.snapshot(world) });
  }
  const swallowed = [...new Set(cases.filter((c) => c.fired && !c.propagated).map((c) => c.label))];
  return { writes: cleanWrites.length, clean, cleanWrites, cases, crashes: cases.filter((c) => c.propagated).length, swallowed };
}

beforeAll(async () => {
  db = await startTestPostgres();
  await db.query('CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)');
  await db.query(await readFile(new URL('../../../docs/rotators/postgres-alternating.sql', import.meta.url), 'utf8'));
  // The single strategy's role, as docs/rotators/postgres-single.sql creates it (rotor_admin exists already).
  await db.query('CREATE ROLE app_user LOGIN');
  await db.query('GRANT app_user TO rotor_admin WITH ADMIN OPTION, INHERIT FALSE, SET FALSE');
  await db.query(`ALTER ROLE rotor_admin PASSWORD ${pg.escapeLiteral(ADMIN_PASSWORD)}`);
});

afterAll(async () => {
  await db?.stop();
});

beforeEach(async () => {
  await db.query(`ALTER ROLE app_a PASSWORD ${pg.escapeLiteral(INITIAL_PASSWORD)}`);
  await db.query('ALTER ROLE app_b PASSWORD NULL');
  await db.query(`ALTER ROLE app_user PASSWORD ${pg.escapeLiteral(SINGLE_INITIAL)}`);
});

describe('PostgreSQL rotations through the engine', () => {
  it('alternating: three rotations in a row; the old role logs in until revoke-after, the latest always (I1 at every step boundary)', async () => {
    // Prepare
    const world = build({ strategy: 'alternating', revokeAfter: 'PT1H' });
    const violations: string[] = [];
    const oldStillWorksAtRetire: boolean[] = [];

    for (let round = 1; round <= 3; round += 1) {
      const before = latestEnabled(world);

      // Act
      await rotate(world, {
        afterDelivery: async ({ message }) => {
          if (!(await logsIn(latestEnabled(world)))) violations.push(`round ${round}, after ${message.body.step}: the latest enabled value does not log in`);
          if (message.body.step === 'retire') oldStillWorksAtRetire.push(await logsIn(before));
        },
      });

      // Assess
      const after = latestEnabled(world);
      expect(world.ledger.rotations().at(-1)!.status).toBe('Completed');
      expect(await logsIn(after)).toBe(true);
      expect(await logsIn(before)).toBe(false);
      expect(decodeCredential(SecretValue.from(after)).username).toBe(round % 2 === 1 ? 'app_b' : 'app_a');
    }
    expect(violations).toEqual([]);
    expect(oldStillWorksAtRetire).toEqual([true, true, true]);
    expect(world.store.versions(secret).at(-1)!.tags['rotor-slot']).toBe('app_b');
    expect(world.store.versions(secret).at(-1)!.contentType).toBe('application/vnd.rotor.postgres+json');
    expectNoSecretIn(world.texts(), [...world.store.allValues().filter((v) => v.length >= 8), INITIAL_PASSWORD, ADMIN_PASSWORD]);
  });

  it('alternating: a consumer that breaks rolls the rotation back; the restored credential logs in at every step boundary', async () => {
    // Prepare
    const world = build({ strategy: 'alternating', consumerBreaks: true });
    const violations: string[] = [];

    // Act
    await rotate(world, {
      afterDelivery: async ({ message }) => {
        if (!(await logsIn(latestEnabled(world)))) violations.push(`after ${message.body.step}`);
      },
    });

    // Assess
    const rotation = world.ledger.rotations()[0]!;
    expect(rotation.status).toBe('RolledBack');
    expect(violations).toEqual([]);
    expect(latestEnabled(world)).toBe(initialValue('alternating'));
    expect(await logsIn(initialValue('alternating'))).toBe(true);
    expect(await databaseState(world, 'alternating')).toMatchObject({ workingPerRole: { app_a: 1, app_b: 0 }, latestLogsIn: true });
  });

  it('single: the new password logs in after the rotation and the old one does not (I1 except between apply and promote)', async () => {
    // Prepare
    const world = build({ strategy: 'single' });
    const violations: string[] = [];

    // Act
    await rotate(world, {
      afterDelivery: async ({ message }) => {
        const rotation = world.ledger.rotations()[0];
        if (rotation?.step === 'promote' && rotation.status === 'Running') return; // the documented window
        if (!(await logsIn(latestEnabled(world)))) violations.push(`after ${message.body.step}`);
      },
    });

    // Assess
    expect(world.ledger.rotations()[0]!.status).toBe('Completed');
    expect(violations).toEqual([]);
    expect(await logsIn(latestEnabled(world))).toBe(true);
    expect(await logsIn(initialValue('single'))).toBe(false);
  });

  it('single: a consumer that breaks rolls back, and the old password logs in again', async () => {
    // Prepare
    const world = build({ strategy: 'single', consumerBreaks: true });

    // Act
    await rotate(world);

    // Assess
    expect(world.ledger.rotations()[0]!.status).toBe('RolledBack');
    expect(latestEnabled(world)).toBe(initialValue('single'));
    expect(await logsIn(initialValue('single'))).toBe(true);
    expect(await databaseState(world, 'single')).toMatchObject({ workingPerRole: { app_user: 1 }, latestLogsIn: true });
  });
});

describe('PostgreSQL rotations: crash after every write, then replay (I4)', () => {
  it.each<Scenario>([
    { strategy: 'alternating', revokeAfter: 'PT1H' },
    { strategy: 'alternating', consumerBreaks: true },
    { strategy: 'single' },
    { strategy: 'single', consumerBreaks: true },
  ])('$strategy (consumer breaks: $consumerBreaks, revoke-after: $revokeAfter) ends as a clean run: one working credential per role, no stray roles', async (scenario) => {
    // Prepare
    const rolesBefore = await roleNames();
    const reset = async (): Promise<void> => {
      await db.query(`ALTER ROLE app_a PASSWORD ${pg.escapeLiteral(INITIAL_PASSWORD)}`);
      await db.query('ALTER ROLE app_b PASSWORD NULL');
      await db.query(`ALTER ROLE app_user PASSWORD ${pg.escapeLiteral(SINGLE_INITIAL)}`);
    };

    // Act
    const report = await replayCrashesAroundRotator({
      createWorld: async (crash) => {
        await reset();
        return build(scenario, (ports) => crashingPorts(ports, crash));
      },
      run: (world) => rotate(world),
      snapshot: async (world) => ({
        engine: describeEndState(world, secret, initialValue(scenario.strategy)),
        database: await databaseState(world, scenario.strategy),
      }),
    });

    // Assess
    const clean = report.clean as { database: { roles: string[]; workingPerRole: Record<string, number>; latestLogsIn: boolean } };
    expect(report.cases.filter((c) => c.label.startsWith('rotator(postgres)')).map((c) => c.label)).toEqual(
      report.cleanWrites.filter((w) => w.startsWith('rotator(postgres)')),
    );
    expect(report.cases.length).toBeGreaterThan(report.cleanWrites.filter((w) => w.startsWith('rotator(')).length);
    expect(clean.database.roles).toEqual(rolesBefore);
    expect(clean.database.latestLogsIn).toBe(true);
    for (const working of Object.values(clean.database.workingPerRole)) expect(working).toBeLessThanOrEqual(1);
    for (const replay of report.cases) {
      expectCrashPropagated(replay);
      expect(replay.snapshot, `crash after write ${replay.crashAfter} (${replay.label})`).toEqual(report.clean);
    }
  });
});
