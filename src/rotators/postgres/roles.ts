import pg from 'pg';
import type { SecretValue } from '../../secrecy/secret-value.js';
import { RotatorError, RotatorErrorCode } from '../../rotation/rotator-errors.js';
import { canPrehash, scramSha256Verifier } from './scram.js';
import { translatePgError } from './translate-error.js';

/**
 * The SQL the rotator runs. Role names reach SQL only through
 * `pg.escapeIdentifier` and passwords only through `pg.escapeLiteral`:
 * `ALTER ROLE ... PASSWORD` is a utility statement and takes no bind
 * parameters. Catalog queries use parameters.
 */

export interface RoleFacts {
  readonly name: string;
  readonly canLogin: boolean;
  /** Group roles it is a member of, sorted. */
  readonly groups: readonly string[];
}

export async function inspectRoles(client: pg.Client, roles: readonly string[]): Promise<ReadonlyMap<string, RoleFacts>> {
  try {
    const result = await client.query<{ rolname: string; rolcanlogin: boolean; groups: string[] | null }>(
      `SELECT r.rolname::text AS rolname, r.rolcanlogin,
              (SELECT array_agg(g.rolname::text ORDER BY g.rolname)
                 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                WHERE m.member = r.oid) AS groups
         FROM pg_roles r
        WHERE r.rolname = ANY($1::text[])`,
      [roles],
    );
    return new Map(result.rows.map((row) => [row.rolname, { name: row.rolname, canLogin: row.rolcanlogin, groups: row.groups ?? [] }]));
  } catch (error) {
    throw translatePgError(error, 'read the roles from pg_roles');
  }
}

/** The facts of every role, or a permanent error naming what is missing. */
export async function requireLoginRoles(client: pg.Client, roles: readonly string[]): Promise<ReadonlyMap<string, RoleFacts>> {
  const facts = await inspectRoles(client, roles);
  const missing = roles.filter((role) => !facts.has(role));
  if (missing.length > 0) {
    throw new RotatorError(RotatorErrorCode.TargetNotFound, `Role(s) ${missing.map((r) => JSON.stringify(r)).join(', ')} do not exist on the server`);
  }
  const noLogin = roles.filter((role) => facts.get(role)?.canLogin !== true);
  if (noLogin.length > 0) {
    throw new RotatorError(
      RotatorErrorCode.InvalidConfiguration,
      `Role(s) ${noLogin.map((r) => JSON.stringify(r)).join(', ')} cannot log in (NOLOGIN); run ALTER ROLE ... LOGIN`,
    );
  }
  return facts;
}

/**
 * Sets (or with `null`, removes) a role's password. Idempotent: setting the
 * same password twice leaves one working password, as a role has only one.
 */
export async function setRolePassword(client: pg.Client, role: string, password: SecretValue | null): Promise<void> {
  const literal = password === null ? 'NULL' : pg.escapeLiteral(canPrehash(password) ? scramSha256Verifier(password) : password.reveal());
  const action = password === null ? `remove the password of role ${JSON.stringify(role)}` : `set the password of role ${JSON.stringify(role)}`;
  try {
    await client.query(`ALTER ROLE ${pg.escapeIdentifier(role)} PASSWORD ${literal}`);
  } catch (error) {
    throw translatePgError(error, action, password !== null);
  }
}
