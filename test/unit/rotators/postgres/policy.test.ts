import { describe, expect, it } from 'vitest';
import { createPostgresRotator } from '../../../../src/rotators/postgres/index.js';
import { parseRoleList, readPostgresPolicy } from '../../../../src/rotators/postgres/policy.js';
import type { Strategy } from '../../../../src/rotation/model.js';
import valid from '../../../fixtures/rotators/postgres/valid-policies.json' with { type: 'json' };
import invalid from '../../../fixtures/rotators/postgres/invalid-policies.json' with { type: 'json' };
import { testPolicy } from '../../../helpers/rotator-context.js';
import { engineView } from '../../../helpers/rotator-harness.js';

interface PolicyCase {
  readonly case: string;
  readonly strategy: string;
  readonly target?: string;
  /** JSON fixtures type absent keys of sibling cases as `undefined`. */
  readonly tags: Readonly<Record<string, string | undefined>>;
}

function policyOf(c: PolicyCase) {
  const tags = Object.fromEntries(Object.entries(c.tags).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return testPolicy({ rotator: 'postgres', strategy: c.strategy as Strategy, ...(c.target === undefined ? {} : { target: c.target }), tags });
}

describe('readPostgresPolicy', () => {
  it.each(valid)('reads $case', (c) => {
    // Act
    const result = readPostgresPolicy(policyOf(c));

    // Assess
    expect(result).toEqual({ ok: true, config: c.expected });
  });

  it.each(invalid)('refuses $case, naming the tag', (c) => {
    // Act
    const result = readPostgresPolicy(policyOf(c));

    // Assess
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect([...new Set(problems.map((p) => p.tag))].sort()).toEqual([...c.problems].sort());
    for (const problem of problems) expect(problem.message.length).toBeGreaterThan(10);
  });

  it('never echoes a password found in the server URL', () => {
    // Act
    const result = readPostgresPolicy(policyOf(invalid.find((c) => c.case === 'a password in the server URL')!));

    // Assess
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });

  it('is what the rotator validates with', () => {
    // Prepare
    const rotator = engineView(createPostgresRotator());

    // Act + Assess
    expect(rotator.validate(policyOf(valid[0]!))).toEqual([]);
    expect(rotator.validate(policyOf(invalid[0]!)).map((p) => p.tag)).toContain('rotor-pg-server');
  });
});

describe('parseRoleList', () => {
  it.each([
    { text: 'app_a,app_b', roles: ['app_a', 'app_b'] },
    { text: ' app_a , app_b ', roles: ['app_a', 'app_b'] },
    { text: '["a,b", " c"]', roles: ['a,b', ' c'] },
    { text: 'x"; DROP ROLE y; --', roles: ['x"; DROP ROLE y; --'] },
    { text: '[not json', roles: undefined },
    { text: '{"a":1}', roles: ['{"a":1}'] },
  ])('reads $text', ({ text, roles }) => {
    expect(parseRoleList(text)).toEqual(roles);
  });
});
