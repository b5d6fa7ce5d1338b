import { z } from 'zod';
import { SecretValue } from '../../secrecy/secret-value.js';
import type { PostgresServer, ValueFormat } from './policy.js';

/**
 * The value a PostgreSQL secret holds. The JSON shape follows the one AWS
 * Secrets Manager uses for database secrets (`engine`, `host`, `port`,
 * `dbname`, `username`, `password`), so existing consumers and libraries read
 * it without change; the username is in it because alternating moves between
 * two roles.
 */
export const POSTGRES_JSON_CONTENT_TYPE = 'application/vnd.rotor.postgres+json';
/** Single strategy with `rotor-pg-format=password`: the value is the bare password. */
export const POSTGRES_PASSWORD_CONTENT_TYPE = 'text/plain';

const jsonCredentialSchema = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
});

/** A credential read back from a secret value; the password stays wrapped. */
export interface PostgresCredential {
  /** `undefined` when the value is a bare password (set by hand, or `rotor-pg-format=password`). */
  readonly username?: string;
  readonly password: SecretValue;
}

export function encodeCredential(
  format: ValueFormat,
  server: PostgresServer,
  username: string,
  password: SecretValue,
): { value: SecretValue; contentType: string } {
  if (format === 'password') return { value: password, contentType: POSTGRES_PASSWORD_CONTENT_TYPE };
  const document = {
    engine: 'postgres',
    host: server.host,
    port: server.port,
    dbname: server.database,
    username,
    password: password.reveal(),
  };
  return { value: SecretValue.from(JSON.stringify(document)), contentType: POSTGRES_JSON_CONTENT_TYPE };
}

/**
 * Reads any value an operator or Rotor may have stored: Rotor's JSON (extra
 * fields ignored) or a bare password. Lenient on purpose: the first rotation
 * of a secret set up by hand must work.
 */
export function decodeCredential(value: SecretValue): PostgresCredential {
  const text = value.reveal();
  if (text.trimStart().startsWith('{')) {
    try {
      const parsed = jsonCredentialSchema.safeParse(JSON.parse(text));
      if (parsed.success) return { username: parsed.data.username, password: SecretValue.from(parsed.data.password) };
    } catch {
      // Not JSON after all: a password that starts with "{".
    }
  }
  return { password: value };
}
