import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isRotatorError } from '../../../src/rotation/rotator-errors.js';
import {
  AZURE_POSTGRES_TOKEN_SCOPE,
  createPostgresRotator,
  decodeCredential,
  POSTGRES_JSON_CONTENT_TYPE,
  POSTGRES_PASSWORD_CONTENT_TYPE,
} from '../../../src/rotators/postgres/index.js';
import { scramSha256Verifier } from '../../../src/rotators/postgres/scram.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/embedded-postgres.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';
import { testRotatorContext, type TestRotatorContext } from '../../helpers/rotator-context.js';
import { engineView, type EngineView } from '../../helpers/rotator-harness.js';

/**
 * The single strategy against a real PostgreSQL, at the rotator level
 * (prepare → apply → test → restore), plus what both strategies share: the
 * admin credential, escaping, the SCRAM verifier and error translation.
 */
const ADMIN_PASSWORD = `admin-${randomUUID()}`;
const OLD_PASSWORD = `old-${randomUUID()}`;

let db: TestPostgres;
let rotator: EngineView;

interface ContextOptions {
  readonly target?: string;
  readonly value?: string;
  readonly tags?: Record<string, string>;
  /** Tags naming the admin credential; default the `pg-admin` secret. */
  readonly admin?: Record<string, string>;
  readonly vault?: Record<string, string>;
}

function context(options: ContextOptions = {}): TestRotatorContext {
  return testRotatorContext({
    rotator: 'postgres',
    strategy: 'single',
    target: options.target ?? 'app_user',
    tags: { 'rotor-pg-server': db.serverUrl, ...(options.admin ?? { 'rotor-pg-admin-secret': 'pg-admin' }), ...options.tags },
    vault: options.vault ?? { 'pg-admin': JSON.stringify({ username: 'rotor_admin', password: ADMIN_PASSWORD }) },
    current: { value: options.value ?? JSON.stringify({ username: 'app_user', password: OLD_PASSWORD }) },
  });
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

beforeAll(async () => {
  db = await startTestPostgres();
  await db.query(await readFile(new URL('../../../docs/rotators/postgres-single.sql', import.meta.url), 'utf8'));
  await db.query(`ALTER ROLE rotor_admin PASSWORD ${pg.escapeLiteral(ADMIN_PASSWORD)}`);
  rotator = engineView(createPostgresRotator({ connectTimeoutMs: 5_000 }));
});

afterAll(async () => {
  await db?.stop();
});

beforeEach(async () => {
  await db.query(`ALTER ROLE app_user PASSWORD ${pg.escapeLiteral(OLD_PASSWORD)}`);
});

describe('postgres rotator, single', () => {
  it('prepare changes nothing, apply switches the password, restore switches it back', async () => {
    // Prepare
    const rotation = context();

    // Act: prepare
    const prepared = await rotator.prepare(rotation);
    const next = decodeCredential(prepared.value);

    // Assess: a JSON credential for the same role; the server is untouched
    expect(prepared.contentType).toBe(POSTGRES_JSON_CONTENT_TYPE);
    expect(prepared.slot).toBeUndefined();
    expect(next.username).toBe('app_user');
    expect(await db.canLogin('app_user', OLD_PASSWORD)).toBe(true);
    expect(await db.canLogin('app_user', next.password.reveal())).toBe(false);

    // Act: apply
    await rotator.apply!(rotation, prepared);

    // Assess
    expect(await rotator.test(rotation, prepared.value)).toEqual({ ok: true });
    expect(await rotator.test(rotation, rotation.current.value)).toEqual({ ok: false, reason: 'PostgreSQL rejected the login of role "app_user"' });
    expect(await db.canLogin('app_user', OLD_PASSWORD)).toBe(false);

    // Act: verification failed; rollback
    await rotator.restore!(rotation, rotation.current, prepared);

    // Assess
    expect(await db.canLogin('app_user', OLD_PASSWORD)).toBe(true);
    expect(await db.canLogin('app_user', next.password.reveal())).toBe(false);
  });

  it('apply and restore replayed for the same rotation end as once', async () => {
    // Prepare
    const rotation = context();
    const prepared = await rotator.prepare(rotation);
    const password = decodeCredential(prepared.value).password.reveal();

    // Act + Assess
    await rotator.apply!(rotation, prepared);
    await rotator.apply!({ ...rotation, attempt: 2 }, prepared);
    expect(await db.canLogin('app_user', password)).toBe(true);
    await rotator.restore!(rotation, rotation.current, prepared);
    await rotator.restore!({ ...rotation, attempt: 2 }, rotation.current, prepared);
    expect(await db.canLogin('app_user', OLD_PASSWORD)).toBe(true);
    expect(await db.canLogin('app_user', password)).toBe(false);
  });

  it('stores a bare password with rotor-pg-format=password', async () => {
    // Prepare
    const rotation = context({ tags: { 'rotor-pg-format': 'password' }, value: OLD_PASSWORD });

    // Act
    const prepared = await rotator.prepare(rotation);
    await rotator.apply!(rotation, prepared);

    // Assess
    expect(prepared.contentType).toBe(POSTGRES_PASSWORD_CONTENT_TYPE);
    expect(prepared.value.reveal()).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(await db.canLogin('app_user', prepared.value.reveal())).toBe(true);
    expect(await rotator.test(rotation, prepared.value)).toEqual({ ok: true });
  });

  it('restores an old hand-set password that is not printable ASCII', async () => {
    // Prepare
    const handSet = 'grüße-aus-köln-2024';
    await db.query(`ALTER ROLE app_user PASSWORD ${pg.escapeLiteral(handSet)}`);
    const rotation = context({ value: handSet });
    const prepared = await rotator.prepare(rotation);
    await rotator.apply!(rotation, prepared);

    // Act
    await rotator.restore!(rotation, rotation.current, prepared);

    // Assess
    expect(await db.canLogin('app_user', handSet)).toBe(true);
  });

  it('rotates a role whose name carries quotes and semicolons, touching nothing else', async () => {
    // Prepare
    const role = `app'; DROP ROLE rotor_admin; --"x"`;
    await db.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN PASSWORD ${pg.escapeLiteral(OLD_PASSWORD)}`);
    await db.query(`GRANT ${pg.escapeIdentifier(role)} TO rotor_admin WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`);
    const rotation = context({ target: role, value: OLD_PASSWORD });
    try {
      // Act
      const prepared = await rotator.prepare(rotation);
      await rotator.apply!(rotation, prepared);

      // Assess
      expect(decodeCredential(prepared.value).username).toBe(role);
      expect(await db.canLogin(role, decodeCredential(prepared.value).password.reveal())).toBe(true);
      expect(await db.canLogin('rotor_admin', ADMIN_PASSWORD)).toBe(true);
    } finally {
      await db.query(`DROP ROLE ${pg.escapeIdentifier(role)}`);
    }
  });

  it('sends a SCRAM-SHA-256 verifier the server accepts, not the password', async () => {
    // Prepare: let the server hash a known password, then hash it ourselves with the server's salt
    const password = SecretValue.from(`probe-${randomUUID()}`);
    await db.query(`ALTER ROLE app_user PASSWORD ${pg.escapeLiteral(password.reveal())}`);
    const stored = (await db.query<{ rolpassword: string }>("SELECT rolpassword FROM pg_authid WHERE rolname = 'app_user'")).rows[0]!.rolpassword;
    const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored)!;

    // Act
    const ours = scramSha256Verifier(password, { salt: Buffer.from(salt!, 'base64'), iterations: Number(iterations) });
    const rotation = context();
    const prepared = await rotator.prepare(rotation);
    await rotator.apply!(rotation, prepared);
    const afterApply = (await db.query<{ rolpassword: string }>("SELECT rolpassword FROM pg_authid WHERE rolname = 'app_user'")).rows[0]!.rolpassword;

    // Assess
    expect(ours).toBe(stored);
    expect(afterApply).toMatch(/^SCRAM-SHA-256\$4096:/);
  });

  describe('admin credential', () => {
    it('is read from the secret the policy names', async () => {
      // Prepare
      const rotation = context({ tags: { 'rotor-pg-admin-secret': 'other-admin' }, vault: { 'other-admin': JSON.stringify({ username: 'rotor_admin', password: ADMIN_PASSWORD }) } });

      // Act
      const prepared = await rotator.prepare(rotation);
      await rotator.apply!(rotation, prepared);

      // Assess
      expect(rotation.secretsRead).toEqual(['other-admin', 'other-admin']);
    });

    it('may be a bare password when rotor-pg-server names the admin user', async () => {
      // Prepare
      const server = db.serverUrl.replace('postgres://', 'postgres://rotor_admin@');
      const rotation = context({ tags: { 'rotor-pg-server': server }, vault: { 'pg-admin': ADMIN_PASSWORD } });

      // Act
      const prepared = await rotator.prepare(rotation);

      // Assess
      expect(decodeCredential(prepared.value).username).toBe('app_user');
    });

    it('can be a Microsoft Entra token (Azure flexible server), asked for the PostgreSQL scope', async () => {
      // Prepare: the token is the password on Azure; here a fake source hands out the admin password
      const scopes: (string | string[])[] = [];
      const entraRotator = engineView(
        createPostgresRotator({
          tokenSource: { getToken: (scope) => (scopes.push(scope), Promise.resolve({ token: ADMIN_PASSWORD })) },
        }),
      );
      const rotation = context({ admin: { 'rotor-pg-admin-entra': 'rotor_admin' } });

      // Act
      const prepared = await entraRotator.prepare(rotation);
      await entraRotator.apply!(rotation, prepared);

      // Assess
      expect(scopes).toEqual([AZURE_POSTGRES_TOKEN_SCOPE, AZURE_POSTGRES_TOKEN_SCOPE]);
      expect(rotation.secretsRead).toEqual([]);
      expect(await db.canLogin('app_user', decodeCredential(prepared.value).password.reveal())).toBe(true);
    });
  });

  describe('failures', () => {
    const noPrivilegePassword = `weak-${randomUUID()}`;

    beforeAll(async () => {
      await db.query(`CREATE ROLE weak_admin LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(noPrivilegePassword)}`);
    });

    it.each([
      {
        case: 'a role that does not exist',
        options: () => ({ target: 'no_such_role' }),
        code: 'TargetNotFound',
      },
      {
        case: 'a wrong admin password',
        options: () => ({ vault: { 'pg-admin': JSON.stringify({ username: 'rotor_admin', password: 'wrong-admin-password' }) } }),
        code: 'PermissionDenied',
      },
      {
        case: 'a bare admin password and no admin user in rotor-pg-server',
        options: () => ({ vault: { 'pg-admin': ADMIN_PASSWORD } }),
        code: 'InvalidConfiguration',
      },
      {
        case: 'a database that does not exist',
        options: () => ({ tags: { 'rotor-pg-server': db.serverUrl.replace('/postgres?', '/no_such_db?') } }),
        code: 'InvalidConfiguration',
      },
      {
        case: 'an invalid policy',
        options: () => ({ tags: { 'rotor-pg-server': 'mysql://db' } }),
        code: 'InvalidConfiguration',
      },
    ])('prepare fails permanently on $case', async ({ options, code }) => {
      // Act
      const error = await errorOf(rotator.prepare(context(options())));

      // Assess
      expect(isRotatorError(error) && { code: error.code, transient: error.transient }).toEqual({ code, transient: false });
    });

    it('apply fails permanently when the admin lacks ADMIN OPTION on the role, and the old password stays', async () => {
      // Prepare
      const rotation = context({ vault: { 'pg-admin': JSON.stringify({ username: 'weak_admin', password: noPrivilegePassword }) } });
      const prepared = await rotator.prepare(rotation);

      // Act
      const error = await errorOf(rotator.apply!(rotation, prepared));

      // Assess
      expect(isRotatorError(error) && { code: error.code, transient: error.transient }).toEqual({ code: 'PermissionDenied', transient: false });
      expect(await db.canLogin('app_user', OLD_PASSWORD)).toBe(true);
      expectNoSecretIn([String(error), JSON.stringify(error), String((error as Error).cause)], [decodeCredential(prepared.value).password.reveal()]);
    });

    it('reports an unreachable server as transient, from prepare and from the self-test', async () => {
      // Prepare: a port nobody listens on
      const port = await new Promise<number>((resolve) => {
        const server = createServer().listen(0, '127.0.0.1', () => {
          const address = server.address() as { port: number };
          server.close(() => resolve(address.port));
        });
      });
      const rotation = context({ tags: { 'rotor-pg-server': `postgres://127.0.0.1:${port}/postgres?sslmode=disable` } });

      // Act
      const prepareError = await errorOf(rotator.prepare(rotation));
      const testError = await errorOf(rotator.test(rotation, rotation.current.value));

      // Assess
      for (const error of [prepareError, testError]) {
        expect(isRotatorError(error) && { code: error.code, transient: error.transient }).toEqual({ code: 'ProviderUnavailable', transient: true });
      }
    });

    it('fails TLS verification as a configuration problem when the server offers no TLS', async () => {
      // Prepare
      const rotation = context({ tags: { 'rotor-pg-server': db.serverUrl.replace('sslmode=disable', 'sslmode=verify-full') } });

      // Act
      const error = await errorOf(rotator.prepare(rotation));

      // Assess
      expect(isRotatorError(error) && error.transient).toBe(false);
    });
  });
});
