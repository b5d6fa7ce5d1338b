import { describe, expect, it } from 'vitest';
import { createLogger, createMemorySink } from '../../../src/observability/logger.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';

describe('createLogger', () => {
  const plain = 'pg-Pa55w0rd-very-secret';

  it('redacts SecretValues and sensitive-named fields at any depth', () => {
    // Prepare
    const sink = createMemorySink();
    const log = createLogger(sink, { level: 'debug' });

    // Act
    log.info('prepared', { credential: SecretValue.from(plain), nested: { password: plain, list: [{ value: plain }] }, slot: 'app_b' });
    log.debug('raw wrapper', { detail: SecretValue.from(plain) });

    // Assess
    expectNoSecretIn(sink.records.map((r) => JSON.stringify(r)), [plain]);
    expect(sink.records[0]?.fields.slot).toBe('app_b');
  });

  it('drops records below the level and keeps child fields', () => {
    const sink = createMemorySink();
    const log = createLogger(sink, { level: 'warn' }).child({ rotationId: 'r-1' });

    log.info('quiet');
    log.warn('loud', { step: 'verify' });

    expect(sink.records).toEqual([{ level: 'warn', message: 'loud', fields: { rotationId: 'r-1', step: 'verify' } }]);
  });

  it('logs an error by name, message and code, not by its whole object graph', () => {
    const sink = createMemorySink();
    const error = Object.assign(new Error('vault said no'), { code: 'Throttled', request: { body: plain } });

    createLogger(sink).error('step failed', { error });

    expect(sink.records[0]?.fields.error).toEqual({ name: 'Error', message: 'vault said no', code: 'Throttled' });
  });
});
