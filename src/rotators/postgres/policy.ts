import { secretNameSchema } from '../../keyvault/secret-ref.js';
import type { RotationPolicy } from '../../rotation/policy-types.js';
import type { ConfigReading, PolicyProblem } from '../../rotation/rotator.js';

/**
 * The PostgreSQL rotator's own tags. Connection facts live in one URL-shaped
 * tag so the secret stays under Key Vault's 15-tag limit next to the generic
 * `rotor-*` tags and the engine's own.
 */
export const PostgresTag = {
  /** `postgres://[admin_user@]host[:port][/database][?sslmode=verify-full|require|disable]`; never a password. */
  Server: 'rotor-pg-server',
  /** Name of another secret in the same vault holding the admin credential. */
  AdminSecret: 'rotor-pg-admin-secret',
  /** PostgreSQL role of Rotor's managed identity (Azure flexible server, Microsoft Entra authentication). */
  AdminEntra: 'rotor-pg-admin-entra',
  /** `json` (default) or `password` (single strategy only). */
  Format: 'rotor-pg-format',
  /** The generic target tag: the login role, or the two roles for alternating. */
  Target: 'rotor-target',
} as const;

export const SslMode = { VerifyFull: 'verify-full', Require: 'require', Disable: 'disable' } as const;
export type SslMode = (typeof SslMode)[keyof typeof SslMode];

export const ValueFormat = { Json: 'json', Password: 'password' } as const;
export type ValueFormat = (typeof ValueFormat)[keyof typeof ValueFormat];

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly sslMode: SslMode;
  /** Admin user named in the URL, for an admin secret that holds only a password. */
  readonly adminUser?: string;
}

export type PostgresAdmin =
  | { readonly kind: 'secret'; readonly secretName: string }
  | { readonly kind: 'entra'; readonly user: string };

export interface PostgresPolicy {
  readonly server: PostgresServer;
  readonly admin: PostgresAdmin;
  /** One role (single) or two (alternating, in the order written). */
  readonly roles: readonly string[];
  readonly format: ValueFormat;
}


/** PostgreSQL truncates identifiers beyond 63 bytes (NAMEDATALEN - 1): refuse instead of rotating a different role. */
const MAX_IDENTIFIER_BYTES = 63;

function roleProblem(name: string): string | undefined {
  if (name === '') return 'names an empty role';
  if (name.includes('\0')) return 'names a role with a NUL character';
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) return `names a role longer than ${MAX_IDENTIFIER_BYTES} bytes`;
  return undefined;
}

/**
 * `app_a,app_b`, or a JSON array (`["app,a","app_b"]`) when a role name
 * contains a comma. Quotes, semicolons and spaces inside names are fine: the
 * rotator never puts a name in SQL unescaped.
 */
export function parseRoleList(text: string): string[] | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed) && parsed.every((item): item is string => typeof item === 'string')) return parsed;
    } catch {
      return undefined;
    }
    return undefined;
  }
  return trimmed.split(',').map((part) => part.trim());
}

function parseServer(text: string, problems: PolicyProblem[]): PostgresServer | undefined {
  const tag = PostgresTag.Server;
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    problems.push({ tag, message: 'must be a URL such as postgres://db.example.com:5432/appdb' });
    return undefined;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    problems.push({ tag, message: 'must start with postgres:// or postgresql://' });
    return undefined;
  }
  if (url.password !== '') {
    // Never echo the URL: it holds the password the operator should not have put there.
    problems.push({ tag, message: `must not contain a password; keep the admin credential in the secret named by ${PostgresTag.AdminSecret}` });
    return undefined;
  }
  if (url.hostname === '') {
    problems.push({ tag, message: 'must name a host' });
    return undefined;
  }
  const port = url.port === '' ? 5432 : Number(url.port);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  const sslModeText = url.searchParams.get('sslmode') ?? SslMode.VerifyFull;
  const sslModes: readonly string[] = Object.values(SslMode);
  if (!sslModes.includes(sslModeText)) {
    problems.push({ tag, message: `sslmode must be one of ${sslModes.join(', ')}` });
    return undefined;
  }
  const unknown = [...url.searchParams.keys()].filter((key) => key !== 'sslmode');
  if (unknown.length > 0) {
    problems.push({ tag, message: `does not understand the parameter(s) ${unknown.join(', ')}; only sslmode is read` });
    return undefined;
  }
  const adminUser = url.username === '' ? undefined : decodeURIComponent(url.username);
  // IPv6 hosts come back bracketed from URL; pg wants them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port, database, sslMode: sslModeText as SslMode, ...(adminUser === undefined ? {} : { adminUser }) };
}

/** Reads and checks the PostgreSQL tags of a policy; every problem names its tag. */
export function readPostgresPolicy(policy: RotationPolicy): ConfigReading<PostgresPolicy> {
  const problems: PolicyProblem[] = [];
  const tags = policy.tags;

  const serverText = tags[PostgresTag.Server];
  if (serverText === undefined) {
    problems.push({ tag: PostgresTag.Server, message: 'is required: postgres://host:port/database (no credentials)' });
  }
  const server = serverText === undefined ? undefined : parseServer(serverText, problems);

  const roles = policy.target === undefined ? undefined : parseRoleList(policy.target);
  const wanted = policy.strategy === 'alternating' ? 2 : 1;
  if (policy.target === undefined) {
    problems.push({
      tag: PostgresTag.Target,
      message: wanted === 2 ? 'is required: the two login roles, for example app_a,app_b' : 'is required: the login role whose password is rotated',
    });
  } else if (roles === undefined) {
    problems.push({ tag: PostgresTag.Target, message: 'must be role names separated by commas, or a JSON array of strings' });
  } else if (roles.length !== wanted) {
    problems.push({
      tag: PostgresTag.Target,
      message: wanted === 2 ? `must name two roles for the alternating strategy (found ${roles.length})` : `must name one role for the single strategy (found ${roles.length})`,
    });
  } else {
    for (const role of roles) {
      const problem = roleProblem(role);
      if (problem !== undefined) problems.push({ tag: PostgresTag.Target, message: problem });
    }
    if (wanted === 2 && roles[0] === roles[1]) problems.push({ tag: PostgresTag.Target, message: 'must name two different roles' });
  }

  const adminSecret = tags[PostgresTag.AdminSecret];
  const adminEntra = tags[PostgresTag.AdminEntra];
  let admin: PostgresAdmin | undefined;
  if (adminSecret !== undefined && adminEntra !== undefined) {
    problems.push({ tag: PostgresTag.AdminSecret, message: `set either ${PostgresTag.AdminSecret} or ${PostgresTag.AdminEntra}, not both` });
  } else if (adminSecret !== undefined) {
    const name = secretNameSchema.safeParse(adminSecret.trim());
    if (name.success) admin = { kind: 'secret', secretName: name.data };
    else problems.push({ tag: PostgresTag.AdminSecret, message: 'must be the name of a secret in the same vault (1-127 letters, digits or hyphens)' });
  } else if (adminEntra !== undefined) {
    const problem = roleProblem(adminEntra);
    if (problem === undefined) admin = { kind: 'entra', user: adminEntra };
    else problems.push({ tag: PostgresTag.AdminEntra, message: problem });
  } else {
    problems.push({
      tag: PostgresTag.AdminSecret,
      message: `is required (or ${PostgresTag.AdminEntra} on Azure): the admin credential that may change the role's password`,
    });
  }

  const formatText = tags[PostgresTag.Format] ?? ValueFormat.Json;
  let format: ValueFormat | undefined;
  if (formatText === ValueFormat.Json) format = ValueFormat.Json;
  else if (formatText === ValueFormat.Password) {
    if (policy.strategy === 'alternating') {
      problems.push({ tag: PostgresTag.Format, message: 'must be json for the alternating strategy: the username changes between slots' });
    } else format = ValueFormat.Password;
  } else problems.push({ tag: PostgresTag.Format, message: 'must be json or password' });

  const adminUser = admin?.kind === 'entra' ? admin.user : server?.adminUser;
  if (adminUser !== undefined && roles?.includes(adminUser) === true) {
    problems.push({ tag: PostgresTag.Target, message: 'must not name the admin role: Rotor would lock itself out' });
  }

  if (problems.length > 0 || server === undefined || roles === undefined || admin === undefined || format === undefined) {
    return { ok: false, problems };
  }
  return { ok: true, config: { server, admin, roles, format } };
}
