import pg from 'pg';
import type { SecretValue } from '../../secrecy/secret-value.js';
import type { PostgresServer } from './policy.js';
import { translatePgError } from './translate-error.js';

export interface ConnectionOptions {
  /** How long a connection attempt may take. */
  readonly connectTimeoutMs: number;
  /** Server- and client-side limit for one statement. */
  readonly statementTimeoutMs: number;
  /** Extra CA certificates (PEM) trusted for `sslmode=verify-full`: a private CA, or a test server. */
  readonly ca?: string;
}

export interface Login {
  readonly user: string;
  readonly password: SecretValue;
}

function sslConfig(server: PostgresServer, ca: string | undefined): pg.ClientConfig['ssl'] {
  switch (server.sslMode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full':
      return { rejectUnauthorized: true, ...(ca === undefined ? {} : { ca }) };
  }
}

/**
 * Opens one connection, runs `work`, closes it. Rotor runs a handful of
 * statements per step, minutes apart, so a pool would only hold idle
 * connections (and Entra tokens that expire). An abort closes the connection,
 * which ends the running statement.
 */
export async function openConnection(
  server: PostgresServer,
  login: Login,
  options: ConnectionOptions,
  signal?: AbortSignal,
): Promise<pg.Client> {
  const client = new pg.Client({
    host: server.host,
    port: server.port,
    database: server.database,
    user: login.user,
    password: login.password.reveal(),
    ssl: sslConfig(server, options.ca),
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    query_timeout: options.statementTimeoutMs,
    application_name: 'rotor',
  });
  // A connection dropped between statements surfaces on the next query; without
  // a listener the 'error' event would crash the process.
  client.on('error', () => undefined);
  const onAbort = (): void => {
    void client.end().catch(() => undefined);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await client.connect();
  } catch (error) {
    signal?.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
    throw error;
  }
  client.once('end', () => signal?.removeEventListener('abort', onAbort));
  return client;
}

/** `openConnection` for the admin: every failure becomes a `RotatorError`. */
export async function withAdminConnection<T>(
  server: PostgresServer,
  login: Login,
  options: ConnectionOptions,
  signal: AbortSignal | undefined,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  let client: pg.Client;
  try {
    client = await openConnection(server, login, options, signal);
  } catch (error) {
    throw translatePgError(error, `log in to ${server.host}:${server.port} as the admin role ${JSON.stringify(login.user)}`);
  }
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
