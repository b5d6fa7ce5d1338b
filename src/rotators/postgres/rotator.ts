import { DefaultAzureCredential } from '@azure/identity';
import type pg from 'pg';
import { SecretValue } from '../../secrecy/secret-value.js';
import { RotatorError, RotatorErrorCode } from '../../rotation/rotator-errors.js';
import type {
  CredentialTestResult,
  CurrentCredential,
  PreparedCredential,
  Rotator,
  RotatorContext,
} from '../../rotation/rotator.js';
import { openConnection, withAdminConnection, type ConnectionOptions, type Login } from './connection.js';
import { decodeCredential, encodeCredential } from './credential-format.js';
import { generatePassword } from './password.js';
import { readPostgresPolicy, type PostgresPolicy } from './policy.js';
import { requireLoginRoles, setRolePassword, type RoleFacts } from './roles.js';
import { isLoginRejected, translatePgError } from './translate-error.js';

/** Scope of Microsoft Entra tokens for Azure Database for PostgreSQL (the token is the password). */
export const AZURE_POSTGRES_TOKEN_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

/** Structurally a `TokenCredential` from `@azure/identity`. */
export interface AccessTokenSource {
  getToken(scopes: string | string[]): Promise<{ readonly token: string } | null>;
}

export interface PostgresRotatorDeps {
  /** Entra tokens for `rotor-pg-admin-entra`. Default: `DefaultAzureCredential` (reads `AZURE_CLIENT_ID`), created on first use. */
  readonly tokenSource?: AccessTokenSource;
  /** Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Default 15 s. */
  readonly statementTimeoutMs?: number;
  /** Extra CA certificates (PEM) for `sslmode=verify-full`. */
  readonly ca?: string;
}

type LoginOutcome = 'accepted' | 'rejected';

/**
 * Rotates the password of a PostgreSQL login role (`rotor-rotator=postgres`),
 * self-hosted or Azure Database for PostgreSQL flexible server.
 *
 * - single: `prepare` checks the role and generates; `apply` sets the password;
 *   `restore` sets the previous one back.
 * - alternating: two login roles sharing a group role; `prepare` sets a new
 *   password on the role not in use; `restore` removes it again; `revoke`
 *   removes the superseded role's password, if it still has it.
 *
 * The admin role needs CREATEROLE and, from PostgreSQL 16 on, ADMIN OPTION on
 * the rotated roles (Azure: a member of `azure_pg_admin` that created them).
 * Roles are never created or dropped, so a replayed step cannot leave strays.
 */
export function createPostgresRotator(deps: PostgresRotatorDeps = {}): Rotator<PostgresPolicy> {
  const options: ConnectionOptions = {
    connectTimeoutMs: deps.connectTimeoutMs ?? 10_000,
    statementTimeoutMs: deps.statementTimeoutMs ?? 15_000,
    ...(deps.ca === undefined ? {} : { ca: deps.ca }),
  };
  let tokenSource = deps.tokenSource;

  async function adminLogin(context: RotatorContext, policy: PostgresPolicy): Promise<Login> {
    if (policy.admin.kind === 'entra') {
      tokenSource ??= new DefaultAzureCredential();
      let token: { readonly token: string } | null;
      try {
        token = await tokenSource.getToken(AZURE_POSTGRES_TOKEN_SCOPE);
      } catch (error) {
        throw new RotatorError(RotatorErrorCode.ProviderUnavailable, 'Could not get a Microsoft Entra token for PostgreSQL', { cause: error });
      }
      if (token === null) throw new RotatorError(RotatorErrorCode.PermissionDenied, 'No Microsoft Entra token for PostgreSQL was issued to Rotor');
      return { user: policy.admin.user, password: SecretValue.from(token.token) };
    }
    const stored = decodeCredential(await context.readSecret(policy.admin.secretName));
    const user = stored.username ?? policy.server.adminUser;
    if (user === undefined) {
      throw new RotatorError(
        RotatorErrorCode.InvalidConfiguration,
        `The admin secret "${policy.admin.secretName}" holds a bare password: store {"username","password"} JSON in it, or name the user in rotor-pg-server (postgres://admin_user@host/db)`,
      );
    }
    return { user, password: stored.password };
  }

  async function tryLogin(context: RotatorContext, policy: PostgresPolicy, login: Login): Promise<LoginOutcome> {
    let client: pg.Client | undefined;
    try {
      client = await openConnection(policy.server, login, options, context.signal);
      const result = await client.query<{ user: string }>('SELECT current_user AS user');
      if (result.rows[0]?.user !== login.user) return 'rejected';
      return 'accepted';
    } catch (error) {
      if (isLoginRejected(error)) return 'rejected';
      throw translatePgError(error, `log in as role ${JSON.stringify(login.user)}`);
    } finally {
      await client?.end().catch(() => undefined);
    }
  }

  /** The role whose credential the secret holds now: its value's username, its slot tag, or whichever role the value logs in as. */
  async function activeRole(context: RotatorContext, policy: PostgresPolicy): Promise<string> {
    const current = decodeCredential(context.current.value);
    if (current.username !== undefined && policy.roles.includes(current.username)) return current.username;
    if (context.current.slot !== undefined && policy.roles.includes(context.current.slot)) return context.current.slot;
    const accepted: string[] = [];
    for (const role of policy.roles) {
      if ((await tryLogin(context, policy, { user: role, password: current.password })) === 'accepted') accepted.push(role);
    }
    const [only] = accepted;
    if (accepted.length === 1 && only !== undefined) return only;
    throw new RotatorError(
      RotatorErrorCode.InvalidConfiguration,
      `Cannot tell which of the roles the secret's current value belongs to (it logs in as ${accepted.length} of them); store it in the JSON format with its username`,
    );
  }

  function requireSameGroups(facts: ReadonlyMap<string, RoleFacts>, roles: readonly string[]): void {
    const [a, b] = roles.map((role) => facts.get(role));
    if (a === undefined || b === undefined) return;
    const onlyA = a.groups.filter((g) => !b.groups.includes(g));
    const onlyB = b.groups.filter((g) => !a.groups.includes(g));
    if (onlyA.length === 0 && onlyB.length === 0) return;
    const describe = (role: RoleFacts, groups: string[]) => `${JSON.stringify(role.name)} alone is in ${groups.map((g) => JSON.stringify(g)).join(', ')}`;
    const parts = [onlyA.length > 0 ? describe(a, onlyA) : undefined, onlyB.length > 0 ? describe(b, onlyB) : undefined].filter((p) => p !== undefined);
    throw new RotatorError(
      RotatorErrorCode.InvalidConfiguration,
      `The alternating roles must share their privileges through the same group roles: ${parts.join('; ')}`,
    );
  }

  function singleRole(policy: PostgresPolicy): string {
    const [role] = policy.roles;
    if (role === undefined) throw new RotatorError(RotatorErrorCode.InvalidConfiguration, 'rotor-target names no role');
    return role;
  }

  async function prepareSingle(context: RotatorContext, policy: PostgresPolicy): Promise<PreparedCredential> {
    const role = singleRole(policy);
    const admin = await adminLogin(context, policy);
    // Checked now, before a pending value is stored, so a wrong tag fails early and changes nothing.
    await withAdminConnection(policy.server, admin, options, context.signal, (client) => requireLoginRoles(client, [role]));
    const { value, contentType } = encodeCredential(policy.format, policy.server, role, generatePassword());
    context.log.info('Generated a new password for the role', { role, rotationId: context.rotationId });
    return { value, contentType, refs: { role } };
  }

  async function prepareAlternating(context: RotatorContext, policy: PostgresPolicy): Promise<PreparedCredential> {
    const admin = await adminLogin(context, policy);
    const active = await activeRole(context, policy);
    const next = policy.roles.find((role) => role !== active);
    if (next === undefined) throw new RotatorError(RotatorErrorCode.InvalidConfiguration, 'rotor-target names no inactive role');
    const password = generatePassword();
    await withAdminConnection(policy.server, admin, options, context.signal, async (client) => {
      const facts = await requireLoginRoles(client, policy.roles);
      requireSameGroups(facts, policy.roles);
      // A replay sets a fresh password again: the role keeps exactly one, the latest.
      await setRolePassword(client, next, password);
    });
    context.log.info('Set a new password on the inactive role', { role: next, activeRole: active, rotationId: context.rotationId });
    const { value, contentType } = encodeCredential(policy.format, policy.server, next, password);
    return { value, contentType, slot: next, refs: { role: next } };
  }

  return {
    kind: 'postgres',
    strategies: ['single', 'alternating'],

    readConfig: readPostgresPolicy,

    async prepare(context) {
      const policy = context.config;
      return context.policy.strategy === 'alternating' ? prepareAlternating(context, policy) : prepareSingle(context, policy);
    },

    async apply(context, prepared) {
      if (context.policy.strategy === 'alternating') {
        context.log.debug('Nothing to apply: alternating set the password at prepare', { rotationId: context.rotationId });
        return;
      }
      const policy = context.config;
      const role = singleRole(policy);
      const admin = await adminLogin(context, policy);
      await withAdminConnection(policy.server, admin, options, context.signal, (client) =>
        setRolePassword(client, role, decodeCredential(prepared.value).password),
      );
      context.log.info('Set the new password on the role', { role, rotationId: context.rotationId });
    },

    async test(context, credential): Promise<CredentialTestResult> {
      const policy = context.config;
      const { username, password } = decodeCredential(credential);
      const role = username ?? (context.policy.strategy === 'single' ? singleRole(policy) : undefined);
      if (role === undefined) return { ok: false, reason: 'The value holds no username; the alternating strategy needs the JSON format' };
      if (!policy.roles.includes(role)) return { ok: false, reason: `The value names role ${JSON.stringify(role)}, which rotor-target does not list` };
      const outcome = await tryLogin(context, policy, { user: role, password });
      return outcome === 'accepted' ? { ok: true } : { ok: false, reason: `PostgreSQL rejected the login of role ${JSON.stringify(role)}` };
    },

    async restore(context, previous: CurrentCredential, prepared: PreparedCredential) {
      const policy = context.config;
      const admin = await adminLogin(context, policy);
      if (context.policy.strategy === 'single') {
        const role = singleRole(policy);
        await withAdminConnection(policy.server, admin, options, context.signal, (client) =>
          setRolePassword(client, role, decodeCredential(previous.value).password),
        );
        context.log.info('Set the previous password back on the role', { role, rotationId: context.rotationId });
        return;
      }
      const role = prepared.refs?.role ?? prepared.slot;
      const previousRole = decodeCredential(previous.value).username ?? previous.slot;
      if (role === undefined || !policy.roles.includes(role)) {
        throw new RotatorError(RotatorErrorCode.InvalidConfiguration, 'The prepared credential names no role of rotor-target; nothing to undo');
      }
      if (role === previousRole) {
        // Removing it would lock out the credential being restored.
        context.log.warn('Not removing the password: the prepared role is the one being restored', { role, rotationId: context.rotationId });
        return;
      }
      await withAdminConnection(policy.server, admin, options, context.signal, (client) => setRolePassword(client, role, null));
      context.log.info('Removed the password of the prepared role', { role, rotationId: context.rotationId });
    },

    async revoke(context, superseded: CurrentCredential) {
      if (context.policy.strategy === 'single') {
        context.log.debug('Nothing to revoke: the single strategy replaced the password at apply', { rotationId: context.rotationId });
        return;
      }
      const policy = context.config;
      const old = decodeCredential(superseded.value);
      const role = old.username ?? superseded.slot;
      if (role === undefined || !policy.roles.includes(role)) {
        context.log.warn('Not revoking: the superseded credential names no role of rotor-target', { rotationId: context.rotationId });
        return;
      }
      const currentRole = decodeCredential(context.current.value).username ?? context.current.slot;
      if (role === currentRole) {
        context.log.warn('Not revoking: the superseded role is the one in use now', { role, rotationId: context.rotationId });
        return;
      }
      // Only while the role still has the superseded password: a later rotation may have given it a new one.
      if ((await tryLogin(context, policy, { user: role, password: old.password })) === 'rejected') {
        context.log.info('Nothing to revoke: the role no longer accepts the superseded password', { role, rotationId: context.rotationId });
        return;
      }
      const admin = await adminLogin(context, policy);
      await withAdminConnection(policy.server, admin, options, context.signal, (client) => setRolePassword(client, role, null));
      context.log.info('Removed the password of the superseded role', { role, rotationId: context.rotationId });
    },
  };
}
