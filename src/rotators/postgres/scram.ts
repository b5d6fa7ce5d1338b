import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { SecretValue } from '../../secrecy/secret-value.js';

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677,
 * the format of `pg_authid.rolpassword`). Rotor sends the verifier instead of
 * the password in `ALTER ROLE ... PASSWORD`, as psql's `\password` does, so the
 * plain password never reaches the server's statement log or error log.
 */
const ITERATIONS = 4096;

/**
 * PostgreSQL SASLprep-normalises passwords before hashing; for printable
 * ASCII that is the identity, so only such passwords are hashed here. Others
 * (an old hand-set password restored by rollback) are sent for the server to hash.
 */
export function canPrehash(password: SecretValue): boolean {
  return /^[\x20-\x7e]+$/.test(password.reveal());
}

export function scramSha256Verifier(password: SecretValue, options: { salt?: Buffer; iterations?: number } = {}): string {
  const salt = options.salt ?? randomBytes(16);
  const iterations = options.iterations ?? ITERATIONS;
  const salted = pbkdf2Sync(password.reveal(), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
