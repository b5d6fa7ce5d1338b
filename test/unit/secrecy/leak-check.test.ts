import { describe, expect, it } from 'vitest';
import { expectNoSecretIn } from '../../helpers/leaks.js';

describe('expectNoSecretIn (the I5 check the other suites rely on)', () => {
  it('passes when no value appears', () => {
    expect(() => expectNoSecretIn(['rotation r-1 completed', '{"state":"Completed"}'], ['s3cr3t-value-1'])).not.toThrow();
  });

  it('fails when a value appears anywhere in any haystack', () => {
    expect(() => expectNoSecretIn(['ok', 'token=s3cr3t-value-1;'], ['s3cr3t-value-1'])).toThrow(/secret values leaked/);
  });

  it('refuses short values that would match by chance', () => {
    expect(() => expectNoSecretIn(['abc'], ['abc'])).toThrow(/at least 8/);
  });
});
