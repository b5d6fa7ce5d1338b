import { describe, expect, it } from 'vitest';
import {
  decodeCredential,
  encodeCredential,
  POSTGRES_JSON_CONTENT_TYPE,
  POSTGRES_PASSWORD_CONTENT_TYPE,
} from '../../../../src/rotators/postgres/credential-format.js';
import { generatePassword } from '../../../../src/rotators/postgres/password.js';
import { SecretValue } from '../../../../src/secrecy/secret-value.js';

const server = { host: 'db.example.com', port: 5432, database: 'appdb', sslMode: 'verify-full' } as const;

describe('PostgreSQL credential format', () => {
  it('encodes the JSON document consumers read, and decodes it back', () => {
    // Prepare
    const password = SecretValue.from('Xy7-password-value-1');

    // Act
    const encoded = encodeCredential('json', server, 'app_b', password);
    const decoded = decodeCredential(encoded.value);

    // Assess
    expect(encoded.contentType).toBe(POSTGRES_JSON_CONTENT_TYPE);
    expect(JSON.parse(encoded.value.reveal())).toEqual({
      engine: 'postgres',
      host: 'db.example.com',
      port: 5432,
      dbname: 'appdb',
      username: 'app_b',
      password: 'Xy7-password-value-1',
    });
    expect(decoded.username).toBe('app_b');
    expect(decoded.password.reveal()).toBe('Xy7-password-value-1');
  });

  it('encodes a bare password for rotor-pg-format=password', () => {
    const encoded = encodeCredential('password', server, 'app_user', SecretValue.from('bare-password-123'));

    expect(encoded).toEqual({ value: expect.anything(), contentType: POSTGRES_PASSWORD_CONTENT_TYPE });
    expect(encoded.value.reveal()).toBe('bare-password-123');
  });

  it.each([
    { case: 'a bare password', text: 'hand-set-password', username: undefined, password: 'hand-set-password' },
    { case: 'a password that starts with a brace', text: '{not-json-at-all', username: undefined, password: '{not-json-at-all' },
    { case: 'JSON without a password', text: '{"username":"app_a"}', username: undefined, password: '{"username":"app_a"}' },
    { case: 'JSON with extra fields', text: '{"username":"app_a","password":"pw-123456","host":"h","sslmode":"require"}', username: 'app_a', password: 'pw-123456' },
  ])('decodes $case', ({ text, username, password }) => {
    const decoded = decodeCredential(SecretValue.from(text));

    expect(decoded.username).toBe(username);
    expect(decoded.password.reveal()).toBe(password);
  });
});

describe('generatePassword', () => {
  it('makes 32 letters and digits with every class present, different each time', () => {
    // Act
    const passwords = Array.from({ length: 200 }, () => generatePassword().reveal());

    // Assess
    for (const p of passwords) {
      expect(p).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(p).toMatch(/[a-z]/);
      expect(p).toMatch(/[A-Z]/);
      expect(p).toMatch(/[0-9]/);
    }
    expect(new Set(passwords).size).toBe(passwords.length);
  });
});
