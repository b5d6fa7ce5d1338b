import { describe, expect, it } from 'vitest';
import { readWebhookPolicy } from '../../../../src/rotators/webhook/index.js';
import cases from '../../../fixtures/rotators/webhook/policies.json' with { type: 'json' };
import { testPolicy } from '../../../helpers/rotator-context.js';

function policyOf(tags: Readonly<Record<string, string | undefined>>) {
  const defined = Object.fromEntries(Object.entries(tags).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return testPolicy({ rotator: 'webhook', strategy: 'alternating', tags: defined });
}

describe('readWebhookPolicy', () => {
  it.each(cases)('$case: problems with $problems', ({ tags, problems }) => {
    // Act
    const result = readWebhookPolicy(policyOf(tags));

    // Assess
    const found = result.ok ? [] : result.problems.map((p) => p.tag);
    expect([...new Set(found)].sort()).toEqual([...problems].sort());
  });

  it('accepts plain http only when the local stack allows it', () => {
    // Prepare
    const policy = policyOf({ 'rotor-webhook-url': 'http://127.0.0.1:7071/rotor', 'rotor-webhook-signing-secret': 'signing-key' });

    // Act
    const strict = readWebhookPolicy(policy);
    const local = readWebhookPolicy(policy, { allowHttp: true });

    // Assess
    expect(strict.ok).toBe(false);
    expect(local.ok && local.config.url.href).toBe('http://127.0.0.1:7071/rotor');
  });

  it('never echoes credentials found in the URL', () => {
    const result = readWebhookPolicy(policyOf({ 'rotor-webhook-url': 'https://user:pass-word@rotate.example.com/', 'rotor-webhook-signing-secret': 'k' }));

    expect(JSON.stringify(result)).not.toContain('pass-word');
  });
});
