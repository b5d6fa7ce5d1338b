import { describe, expect, it } from 'vitest';
import { carriedTags, isManaged, parseHealthTag, readPolicy, tagsForNewVersion } from '../../../src/rotation/policy.js';
import { Strategy } from '../../../src/rotation/model.js';
import { isRotationError } from '../../../src/rotation/errors.js';
import { createRandomRotator } from '../../../src/rotators/random/random-rotator.js';
import { createRotatorRegistry, type Rotator } from '../../../src/rotation/rotator.js';
import { createFakeProvider } from '../../helpers/fakes/index.js';
import valid from '../../fixtures/policies/valid.json' with { type: 'json' };
import invalid from '../../fixtures/policies/invalid.json' with { type: 'json' };

const storageKey: Rotator = { ...createFakeProvider({ strategy: Strategy.Alternating, initial: 'x'.repeat(10) }).rotator, kind: 'storage-account-key' };
const rotators = createRotatorRegistry([
  createRandomRotator(),
  createFakeProvider({ strategy: Strategy.Alternating, initial: 'x'.repeat(10) }).rotator,
  storageKey,
]);

describe('readPolicy', () => {
  it.each(valid)('reads $name', ({ tags, expect: expected }) => {
    // Act
    const reading = readPolicy(tags as unknown as Record<string, string>, { rotators });

    // Assess
    expect(reading.kind).toBe('valid');
    expect(reading.kind === 'valid' ? reading.policy : undefined).toMatchObject({ ...expected, tags });
  });

  it.each(invalid)('refuses $name, naming $problemTag', ({ tags, problemTag }) => {
    // Act
    const reading = readPolicy(tags as unknown as Record<string, string>, { rotators });

    // Assess
    expect(reading.kind).toBe('invalid');
    const problems = reading.kind === 'invalid' ? reading.problems : [];
    expect(problems.map((p) => p.tag)).toContain(problemTag);
    expect(problems.every((p) => p.message.length > 5)).toBe(true);
  });

  it('lists every problem at once', () => {
    const reading = readPolicy({ 'rotor-rotator': 'random', 'rotor-validity': 'P1D', 'rotor-health': 'nope' }, { rotators });
    expect(reading.kind === 'invalid' ? reading.problems.map((p) => p.tag).sort() : []).toEqual(['rotor-health', 'rotor-validity']);
  });

  it.each([
    [
      'a malformed duration and an unknown rotator',
      { 'rotor-rotator': 'postgress', 'rotor-validity': '90 days' },
      ['rotor-rotator', 'rotor-validity'],
    ],
    [
      'a malformed strategy, a too short validity and a bad probe URL',
      { 'rotor-rotator': 'random', 'rotor-strategy': 'both', 'rotor-validity': 'P2D', 'rotor-health': 'ftp://x' },
      ['rotor-health', 'rotor-strategy', 'rotor-validity'],
    ],
    ['an unknown rotator and a too short validity', { 'rotor-rotator': 'nope', 'rotor-validity': 'P1D' }, ['rotor-rotator', 'rotor-validity']],
  ])('lists every problem at once: %s', (_case, tags, expected) => {
    const reading = readPolicy(tags, { rotators });
    expect(reading.kind === 'invalid' ? reading.problems.map((p) => p.tag).sort() : []).toEqual(expected);
  });

  it('an unknown rotator names the ones this Rotor knows', () => {
    const reading = readPolicy({ 'rotor-rotator': 'postgres' }, { rotators });
    expect(reading.kind === 'invalid' ? reading.problems[0]?.message : '').toBe('names no known rotator "postgres" (known: fake-alternating, random, storage-account-key)');
  });

  it('is unmanaged without rotor-rotator or ProviderAddress', () => {
    expect(readPolicy({ team: 'orders', CredentialId: 'key1' }, { rotators })).toEqual({ kind: 'unmanaged' });
    expect(isManaged({ 'rotor-rotator': '' })).toBe(true);
  });

  it('honours a longer near-expiry horizon', () => {
    const reading = readPolicy({ 'rotor-rotator': 'random', 'rotor-validity': 'P40D' }, { rotators, minValidityMs: 45 * 86_400_000 });
    expect(reading.kind).toBe('invalid');
  });

  it('refuses a secret whose tags leave no room for the engine tags', () => {
    // Prepare
    const tags: Record<string, string> = { 'rotor-rotator': 'random' };
    for (let i = 0; i < 14; i += 1) tags[`team-${i}`] = 'x';

    // Act
    const reading = readPolicy(tags, { rotators });

    // Assess
    expect(reading).toMatchObject({ kind: 'invalid', problems: [{ tag: '(tags)', message: expect.stringContaining('16 tags') }] });
  });
});

describe('tags on versions Rotor writes (I6)', () => {
  it('carries the policy forward and replaces the engine tags', () => {
    const tags = tagsForNewVersion({ 'rotor-rotator': 'x', 'rotor-rotation': 'old', 'rotor-slot': 'key1', team: 'a' }, { rotationId: 'new', slot: 'key2' });
    expect(tags).toEqual({ 'rotor-rotator': 'x', team: 'a', 'rotor-rotation': 'new', 'rotor-slot': 'key2' });
  });

  it("moves a sample's CredentialId to the new slot", () => {
    const tags = tagsForNewVersion({ CredentialId: 'key1', ProviderAddress: '/p' }, { rotationId: 'r', slot: 'key2' });
    expect(tags).toMatchObject({ CredentialId: 'key2', 'rotor-slot': 'key2' });
  });

  it('fails clearly when carrying forward would pass 15 tags', () => {
    const many = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`t${i}`, 'v']));
    let caught: unknown;
    try {
      tagsForNewVersion(many, { rotationId: 'r' });
    } catch (error) {
      caught = error;
    }
    expect(isRotationError(caught) && caught.code).toBe('TagLimitExceeded');
  });

  it('drops only engine tags when carrying', () => {
    expect(carriedTags({ 'rotor-rotation': 'a', 'rotor-slot': 'b', 'rotor-health': 'c' })).toEqual({ 'rotor-health': 'c' });
  });
});

describe('parseHealthTag', () => {
  it.each([
    ['', []],
    ['  https://a.example/h  ', [{ url: 'https://a.example/h', expectStatus: 200 }]],
    ['http://a.example/h=503 https://b.example', [{ url: 'http://a.example/h', expectStatus: 503 }, { url: 'https://b.example', expectStatus: 200 }]],
  ])('reads %j', (text, targets) => {
    expect(parseHealthTag(text)).toEqual({ targets });
  });

  it('refuses user:password@ in a probe URL, without repeating the password', () => {
    const reading = parseHealthTag('https://probe:hunter2@app.example/health');
    expect(reading).toEqual({ problem: expect.stringContaining('carries user:password@') as unknown });
    expect(JSON.stringify(reading)).not.toContain('hunter2');
  });
});
