import { describe, expect, it } from 'vitest';
import { parseStepMessage, stepMessageId, stepSessionId } from '../../../src/queue/step-message.js';
import type { StepMessage } from '../../../src/rotation/ports.js';

const body: StepMessage = { rotationId: '0123abcd', secret: { vaultUrl: 'https://kv-app.vault.azure.net', name: 'db-password' }, step: 'verify', attempt: 2 };

describe('step messages', () => {
  it.each([
    ['an object', body],
    ['a JSON string', JSON.stringify(body)],
    ['JSON bytes', Buffer.from(JSON.stringify(body))],
  ])('parses %s', (_name, received) => {
    expect(parseStepMessage(received)).toEqual({ ok: true, message: body });
  });

  it.each([
    ['not JSON', '{oops', '(body)'],
    ['an unknown step', { ...body, step: 'sleep' }, 'step'],
    ['a zero attempt', { ...body, attempt: 0 }, 'attempt'],
    ['a bad secret name', { ...body, secret: { ...body.secret, name: 'db_password' } }, 'secret.name'],
    ['an extra field carrying a value', { ...body, value: 'hunter2-hunter2' }, '(body)'],
  ])('refuses %s, naming the field', (_name, received, field) => {
    const parsed = parseStepMessage(received);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.problem).toContain(field === '(body)' && typeof received === 'string' ? 'JSON' : field);
  });

  it('derives the session from the secret, case-insensitively', () => {
    expect(stepSessionId({ vaultUrl: 'https://KV-App.vault.azure.net', name: 'DB-Password' })).toBe('kv-app.vault.azure.net/db-password');
  });

  it('keeps long session ids within 128 characters and distinct', () => {
    const a = stepSessionId({ vaultUrl: 'https://kv-app.vault.azure.net', name: 'x'.repeat(127) });
    const b = stepSessionId({ vaultUrl: 'https://kv-app.vault.azure.net', name: `${'x'.repeat(126)}y` });
    expect(a.length).toBeLessThanOrEqual(128);
    expect(a).not.toBe(b);
  });

  it('derives the message id from rotation, step and attempt', () => {
    expect(stepMessageId(body)).toBe('0123abcd:verify:2');
  });
});
