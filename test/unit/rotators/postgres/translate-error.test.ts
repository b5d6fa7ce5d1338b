import { describe, expect, it } from 'vitest';
import { RotatorError } from '../../../../src/rotation/rotator-errors.js';
import { isLoginRejected, translatePgError } from '../../../../src/rotators/postgres/translate-error.js';

function pgError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('translatePgError', () => {
  it.each([
    { error: pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'), code: 'ProviderUnavailable', transient: true },
    { error: pgError('ECONNRESET', 'read ECONNRESET'), code: 'ProviderUnavailable', transient: true },
    { error: new Error('Connection terminated due to connection timeout'), code: 'ProviderUnavailable', transient: true },
    { error: new Error('Query read timeout'), code: 'ProviderUnavailable', transient: true },
    { error: pgError('53300', 'sorry, too many clients already'), code: 'ProviderUnavailable', transient: true },
    { error: pgError('57P03', 'the database system is starting up'), code: 'ProviderUnavailable', transient: true },
    { error: pgError('08006', 'connection failure'), code: 'ProviderUnavailable', transient: true },
    { error: pgError('40P01', 'deadlock detected'), code: 'ProviderUnavailable', transient: true },
    { error: pgError('57014', 'canceling statement due to statement timeout'), code: 'ProviderUnavailable', transient: true },
    { error: pgError('28P01', 'password authentication failed for user "rotor_admin"'), code: 'PermissionDenied', transient: false },
    { error: pgError('42501', 'permission denied to alter role'), code: 'PermissionDenied', transient: false },
    { error: pgError('42704', 'role "x" does not exist'), code: 'TargetNotFound', transient: false },
    { error: pgError('3D000', 'database "x" does not exist'), code: 'InvalidConfiguration', transient: false },
    { error: new Error('self-signed certificate in certificate chain'), code: 'InvalidConfiguration', transient: false },
    { error: new Error('The server does not support SSL connections'), code: 'InvalidConfiguration', transient: false },
    { error: pgError('42601', 'syntax error at or near "x"'), code: 'ProviderRejected', transient: false },
  ])('maps $error.message to $code', ({ error, code, transient }) => {
    // Act
    const translated = translatePgError(error, 'do the thing');

    // Assess
    expect(translated).toBeInstanceOf(RotatorError);
    expect({ code: translated.code, transient: translated.transient }).toEqual({ code, transient });
    expect(translated.message).toMatch(/^Could not do the thing: /);
  });

  it('drops the server text and cause of a statement that carried a password', () => {
    // Prepare: what a syntax error would quote back
    const error = pgError('42601', 'syntax error at or near "SCRAM-SHA-256$4096:c2FsdA==$leaky-password-part"');

    // Act
    const translated = translatePgError(error, 'set the password of role "app"', true);

    // Assess
    expect(translated.message).toBe('Could not set the password of role "app": SQLSTATE 42601');
    expect(String((translated.cause as Error).message)).not.toContain('leaky');
  });

  it('passes a RotatorError through', () => {
    const original = new RotatorError('TargetNotFound', 'no such role');

    expect(translatePgError(original, 'x')).toBe(original);
  });

  it.each([
    { code: '28P01', rejected: true },
    { code: '28000', rejected: true },
    { code: '42501', rejected: false },
    { code: 'ECONNREFUSED', rejected: false },
  ])('treats $code as a rejected login: $rejected', ({ code, rejected }) => {
    expect(isLoginRejected(pgError(code, 'x'))).toBe(rejected);
  });
});
