import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isRotatorError } from '../../../src/rotation/rotator-errors.js';
import { createPostgresRotator, decodeCredential, POSTGRES_JSON_CONTENT_TYPE } from '../../../src/rotators/postgres/index.js';
import type { PreparedCredential } from '../../../src/rotation/rotator.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/embedded-postgres.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';
import { promoted, testRotatorContext, type TestRotatorContext } from '../../helpers/rotator-context.js';
import { engineView, type EngineView } from '../../helpers/rotator-harness.js';

/**
 * The alternating strategy against a real PostgreSQL, at the rotator level:
 * each Rotator method is called in the order the engine's protocol uses it
 * (prepare → test → [promote] → revoke, or prepare → restore), with the roles
 * set up by the SQL in docs/rotators/postgres-alternating.sql.
 */
const ADMIN_PASSWORD = `admin-${randomUUID()}`;
const INITIAL_PASSWORD = `initial-${randomUUID()}`;

let db: TestPostgres;
let rotator: EngineView;
const issued: string[] = [];

function passwordOf(prepared: PreparedCredential): string {
  const password = decodeCredential(prepared.value).password.reveal();
  issued.push(password);
  return password;
}

function context(current: { value: string; slot?: string }, overrides: { target?: string; rotationId?: string } = {}): TestRotatorContext {
  return testRotatorContext({
    rotator: 'postgres',
    strategy: 'alternating',
    target: overrides.target ?? 'app_a,app_b',
    tags: { 'rotor-pg-server': db.serverUrl, 'rotor-pg-admin-secret': 'pg-admin' },
    vault: { 'pg-admin': JSON.stringify({ username: 'rotor_admin', password: ADMIN_PASSWORD }) },
    current,
    ...(overrides.rotationId === undefined ? {} : { rotationId: overrides.rotationId }),
  });
}

function initialValue(): { value: string; slot: string } {
  return { value: JSON.stringify({ username: 'app_a', password: INITIAL_PASSWORD }), slot: 'app_a' };
}

async function roleNames(): Promise<string[]> {
  const result = await db.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%' ORDER BY rolname");
  return result.rows.map((r) => r.rolname);
}

/** Runs a query as the given login, through the group role's privileges. */
async function countOrdersAs(user: string, password: string): Promise<number> {
  const client = new pg.Client({ host: db.host, port: db.port, user, password, database: 'postgres' });
  await client.connect();
  try {
    const result = await client.query<{ n: string }>('SELECT count(*) AS n FROM orders');
    return Number(result.rows[0]?.n);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  db = await startTestPostgres({ logStatements: true });
  await db.query('CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)');
  await db.query("INSERT INTO orders (item) VALUES ('tea'), ('scones')");
  await db.query(await readFile(new URL('../../../docs/rotators/postgres-alternating.sql', import.meta.url), 'utf8'));
  await db.query(`ALTER ROLE rotor_admin PASSWORD ${pg.escapeLiteral(ADMIN_PASSWORD)}`);
  rotator = engineView(createPostgresRotator({ connectTimeoutMs: 5_000 }));
});

afterAll(async () => {
  await db?.stop();
});

beforeEach(async () => {
  // Every test starts from the documented state: app_a in use, app_b without a password.
  await db.query(`ALTER ROLE app_a PASSWORD ${pg.escapeLiteral(INITIAL_PASSWORD)}`);
  await db.query('ALTER ROLE app_b PASSWORD NULL');
});

describe('postgres rotator, alternating', () => {
  it('rotates the inactive role, keeps the active one working until revoke, then alternates back', async () => {
    // Prepare
    const rolesBefore = await roleNames();
    const first = context(initialValue());

    // Act: rotation 1 (app_a → app_b)
    const prepared1 = await rotator.prepare(first);
    const password1 = passwordOf(prepared1);

    // Assess: the new credential on app_b logs in and reads through app_rw; app_a still works
    expect(prepared1.slot).toBe('app_b');
    expect(prepared1.contentType).toBe(POSTGRES_JSON_CONTENT_TYPE);
    expect(JSON.parse(prepared1.value.reveal())).toMatchObject({ engine: 'postgres', host: db.host, port: db.port, dbname: 'postgres', username: 'app_b' });
    expect(await rotator.test(first, prepared1.value)).toEqual({ ok: true });
    expect(await countOrdersAs('app_b', password1)).toBe(2);
    expect(await db.canLogin('app_a', INITIAL_PASSWORD)).toBe(true);

    // Act: promote (engine), then revoke the superseded app_a credential
    const afterFirst = promoted(first, prepared1);
    await rotator.revoke!(afterFirst, first.current);

    // Assess
    expect(await db.canLogin('app_a', INITIAL_PASSWORD)).toBe(false);
    expect(await db.canLogin('app_b', password1)).toBe(true);

    // Act: rotation 2 (app_b → app_a)
    const second = promoted(first, prepared1, { rotationId: randomUUID() });
    const prepared2 = await rotator.prepare(second);
    const password2 = passwordOf(prepared2);

    // Assess: back on app_a; app_b keeps working until its own revoke
    expect(prepared2.slot).toBe('app_a');
    expect(await rotator.test(second, prepared2.value)).toEqual({ ok: true });
    expect(await countOrdersAs('app_a', password2)).toBe(2);
    expect(await db.canLogin('app_b', password1)).toBe(true);
    expect(await roleNames()).toEqual(rolesBefore);
  });

  it('restore removes the prepared password and the previous credential keeps logging in', async () => {
    // Prepare
    const rotation = context(initialValue());
    const prepared = await rotator.prepare(rotation);
    const password = passwordOf(prepared);
    expect(await db.canLogin('app_b', password)).toBe(true);

    // Act: verification failed; the engine restores the previous value and asks the rotator to undo prepare
    await rotator.restore!(rotation, rotation.current, prepared);

    // Assess
    expect(await db.canLogin('app_b', password)).toBe(false);
    expect(await db.canLogin('app_a', INITIAL_PASSWORD)).toBe(true);
    expect(await rotator.test(rotation, rotation.current.value)).toEqual({ ok: true });
    expect(await rotator.test(rotation, prepared.value)).toMatchObject({ ok: false });
  });

  describe('replay of a step for the same rotation id (I4)', () => {
    it('prepare twice leaves exactly one working password on the slot and no new roles', async () => {
      // Prepare
      const rolesBefore = await roleNames();
      const rotation = context(initialValue());

      // Act: the first attempt's result was lost in a crash; the engine calls prepare again
      const lost = await rotator.prepare(rotation);
      const kept = await rotator.prepare({ ...rotation, attempt: 2 });

      // Assess
      expect(kept.slot).toBe(lost.slot);
      expect(await db.canLogin('app_b', passwordOf(lost))).toBe(false);
      expect(await db.canLogin('app_b', passwordOf(kept))).toBe(true);
      expect(await db.canLogin('app_a', INITIAL_PASSWORD)).toBe(true);
      expect(await roleNames()).toEqual(rolesBefore);
    });

    it('restore twice and revoke twice end as once', async () => {
      // Prepare
      const rotation = context(initialValue());
      const prepared = await rotator.prepare(rotation);
      const after = promoted(rotation, prepared);

      // Act
      await rotator.revoke!(after, rotation.current);
      await rotator.revoke!(after, rotation.current);

      // Assess: the second revoke saw nothing left to do and touched nothing
      expect(await db.canLogin('app_a', INITIAL_PASSWORD)).toBe(false);
      expect(await db.canLogin('app_b', passwordOf(prepared))).toBe(true);
      expect(after.logRecords.map((r) => r.message)).toContain('Nothing to revoke: the role no longer accepts the superseded password');

      // Act: a rollback of another rotation, replayed
      const next = promoted(rotation, prepared, { rotationId: randomUUID() });
      const prepared2 = await rotator.prepare(next);
      await rotator.restore!(next, next.current, prepared2);
      await rotator.restore!(next, next.current, prepared2);

      // Assess
      expect(await db.canLogin('app_a', passwordOf(prepared2))).toBe(false);
      expect(await db.canLogin('app_b', passwordOf(prepared))).toBe(true);
    });
  });

  describe('which role is in use', () => {
    it.each([
      { case: 'the slot tag, when the value is a bare password', current: () => ({ value: INITIAL_PASSWORD, slot: 'app_a' }) },
      { case: 'a login probe, when the value has neither username nor slot', current: () => ({ value: INITIAL_PASSWORD }) },
      { case: 'the username in the value, over a stale slot tag', current: () => ({ value: JSON.stringify({ username: 'app_a', password: INITIAL_PASSWORD }), slot: 'app_b' }) },
    ])('is found from $case', async ({ current }) => {
      // Act
      const prepared = await rotator.prepare(context(current()));

      // Assess
      expect(prepared.slot).toBe('app_b');
      expect(await db.canLogin('app_a', INITIAL_PASSWORD)).toBe(true);
    });

    it('is refused when the current value logs in as neither role', async () => {
      // Act
      const error: unknown = await rotator.prepare(context({ value: 'not-the-password-of-anyone' })).catch((e: unknown) => e);

      // Assess
      expect(isRotatorError(error) && error.code).toBe('InvalidConfiguration');
      expect(isRotatorError(error) && error.transient).toBe(false);
    });
  });

  it('revoke never removes the password of the role in use now, nor one a later rotation gave it', async () => {
    // Prepare: rotation 1 app_a → app_b, then rotation 2 prepares app_a again before rotation 1's revoke runs
    const first = context(initialValue());
    const prepared1 = await rotator.prepare(first);
    const afterFirst = promoted(first, prepared1);
    const second = promoted(first, prepared1, { rotationId: randomUUID() });
    const prepared2 = await rotator.prepare(second);

    // Act
    await rotator.revoke!(afterFirst, first.current);
    await rotator.revoke!(afterFirst, afterFirst.current);

    // Assess
    expect(await db.canLogin('app_a', passwordOf(prepared2))).toBe(true);
    expect(await db.canLogin('app_b', passwordOf(prepared1))).toBe(true);
  });

  it('refuses roles that do not share the same group roles, before changing anything', async () => {
    // Prepare
    await db.query('CREATE ROLE lonely LOGIN');
    await db.query('GRANT lonely TO rotor_admin WITH ADMIN OPTION, INHERIT FALSE, SET FALSE');
    try {
      // Act
      const error: unknown = await rotator.prepare(context(initialValue(), { target: 'app_a,lonely' })).catch((e: unknown) => e);

      // Assess
      expect(isRotatorError(error) && error.code).toBe('InvalidConfiguration');
      expect(String((error as Error).message)).toContain('"app_a" alone is in "app_rw"');
      expect((await db.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'lonely'")).rows[0]?.rolpassword).toBeNull();
    } finally {
      await db.query('DROP ROLE lonely');
    }
  });

  it('handles role names with quotes, semicolons and commas as plain names', async () => {
    // Prepare: two hostile names, escaped here only to create them
    const roleA = `evil"a; DROP ROLE app_b; --`;
    const roleB = `o'brien, b'); DROP TABLE orders; --`;
    for (const role of [roleA, roleB]) {
      await db.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN IN ROLE app_rw`);
      await db.query(`GRANT ${pg.escapeIdentifier(role)} TO rotor_admin WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`);
    }
    await db.query(`ALTER ROLE ${pg.escapeIdentifier(roleA)} PASSWORD ${pg.escapeLiteral(INITIAL_PASSWORD)}`);
    const target = JSON.stringify([roleA, roleB]);
    const rotation = context({ value: JSON.stringify({ username: roleA, password: INITIAL_PASSWORD }) }, { target });
    try {
      // Act
      const prepared = await rotator.prepare(rotation);
      const after = promoted(rotation, prepared);
      await rotator.revoke!(after, rotation.current);

      // Assess
      expect(prepared.slot).toBe(roleB);
      expect(await db.canLogin(roleB, passwordOf(prepared))).toBe(true);
      expect(await db.canLogin(roleA, INITIAL_PASSWORD)).toBe(false);
      expect(await countOrdersAs(roleB, passwordOf(prepared))).toBe(2);
      expect(await roleNames()).toEqual(expect.arrayContaining(['app_b', roleA, roleB]));
    } finally {
      for (const role of [roleA, roleB]) await db.query(`DROP ROLE ${pg.escapeIdentifier(role)}`);
    }
  });

  it('never lets a password reach a log, an error or the server log', async () => {
    // Prepare
    const rotation = context(initialValue());

    // Act
    const prepared = await rotator.prepare(rotation);
    await rotator.test(rotation, prepared.value);
    await rotator.restore!(rotation, rotation.current, prepared);
    const failure: unknown = await rotator.prepare(context({ value: 'wrong-password-for-both' })).catch((e: unknown) => e);

    // Assess: Rotor sends SCRAM verifiers, so even log_statement=all shows no password
    const records = rotation.logRecords.map((r) => JSON.stringify(r));
    expect(records.length).toBeGreaterThan(0);
    expectNoSecretIn([...records, String(failure), JSON.stringify(prepared)], [...issued, ADMIN_PASSWORD, INITIAL_PASSWORD]);
    // The test itself set the initial and admin passwords in plain SQL; Rotor's own never appear.
    expectNoSecretIn([db.serverLog()], issued);
    expect(db.serverLog()).toContain('PASSWORD \'SCRAM-SHA-256$4096:');
  });
});
