import { RotatorError, RotatorErrorCode } from '../../rotation/rotator-errors.js';

/**
 * Translates what `pg` throws into a `RotatorError`, once, by SQLSTATE class
 * and Node error code. The server's own text is kept only where it cannot
 * hold a credential: for statements that carry a password (`ALTER ROLE ...
 * PASSWORD`) a syntax error would quote the statement, so those get a fixed
 * text and a cause without the server's message.
 */

/** SQLSTATE classes and codes worth another try: connection, resources, shutdown, lock and serialization trouble. */
const TRANSIENT_SQLSTATE = /^(08...|53...|57P0[123]|55P03|40001|40P01|57014)$/;
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE']);

export interface PgErrorShape {
  readonly code?: string;
  readonly message?: string;
}

function shapeOf(error: unknown): PgErrorShape {
  if (typeof error !== 'object' || error === null) return {};
  const { code, message } = error as { code?: unknown; message?: unknown };
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof message === 'string' ? { message } : {}),
  };
}

/** An authentication failure of the role that tried to log in (bad password, no such role, password NULL). */
export function isLoginRejected(error: unknown): boolean {
  const { code } = shapeOf(error);
  return code === '28P01' || code === '28000';
}

function isTimeout(message: string | undefined): boolean {
  return message !== undefined && /timeout|timed out|Connection terminated/i.test(message);
}

/**
 * @param what  what Rotor was doing, named without values: `set the password of role "app_b"`.
 * @param carriesSecret  the statement contained a password or verifier: drop the server's text.
 */
export function translatePgError(error: unknown, what: string, carriesSecret = false): RotatorError {
  if (error instanceof RotatorError) return error;
  const { code, message } = shapeOf(error);
  const detail = carriesSecret || message === undefined ? `SQLSTATE ${code ?? 'unknown'}` : `${message} (SQLSTATE ${code ?? 'unknown'})`;
  const cause = carriesSecret ? new Error(`SQLSTATE ${code ?? 'unknown'}`) : error;
  const make = (rotatorCode: RotatorErrorCode, text: string) => new RotatorError(rotatorCode, `Could not ${what}: ${text}`, { cause });

  if (code !== undefined && TRANSIENT_NODE_CODES.has(code)) return make(RotatorErrorCode.ProviderUnavailable, `server unreachable (${code})`);
  if (code === undefined || !/^[0-9A-Z]{5}$/.test(code)) {
    if (isTimeout(message)) return make(RotatorErrorCode.ProviderUnavailable, 'connection timed out or was closed');
    // TLS failures (self-signed, wrong host name) are configuration, not weather.
    if (message !== undefined && /certificate|self.signed|SSL|TLS/i.test(message)) {
      return make(RotatorErrorCode.InvalidConfiguration, `TLS handshake failed (${code ?? 'no code'}); check sslmode in rotor-pg-server`);
    }
    return make(RotatorErrorCode.ProviderUnavailable, `connection failed (${code ?? 'no code'})`);
  }
  if (TRANSIENT_SQLSTATE.test(code)) return make(RotatorErrorCode.ProviderUnavailable, detail);
  if (code === '28P01' || code === '28000') return make(RotatorErrorCode.PermissionDenied, `the admin login was rejected (${detail})`);
  if (code === '42501') return make(RotatorErrorCode.PermissionDenied, `the admin role lacks the privilege (${detail})`);
  if (code === '42704') return make(RotatorErrorCode.TargetNotFound, detail);
  if (code === '3D000') return make(RotatorErrorCode.InvalidConfiguration, `the database does not exist (${detail})`);
  return make(RotatorErrorCode.ProviderRejected, detail);
}
