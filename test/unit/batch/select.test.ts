import { describe, expect, it } from 'vitest';
import type { BatchSelector } from '../../../src/batch/model.js';
import { selectForBatch } from '../../../src/batch/select.js';
import { createFakeWaysIn, secretInfo } from '../../helpers/fakes/entry.js';

const managed = { 'rotor-rotator': 'random' };
/** The policy as the entry points read it: the real reading, with the random rotator and a 30-day horizon. */
const { readPolicy } = createFakeWaysIn().services;
const listing = [
  secretInfo('orders-db', 'v1', { tags: { ...managed, team: 'orders' } }),
  secretInfo('orders-api', 'v1', { tags: { ...managed, team: 'orders', 'rotor-paused': 'true' } }),
  secretInfo('billing-db', 'v1', { tags: { ...managed, team: 'billing' } }),
  secretInfo('billing-legacy', 'v1', { tags: { team: 'billing' } }),
  secretInfo('broken', 'v1', { tags: { ...managed, 'rotor-validity': 'P1D', team: 'orders' } }),
  secretInfo('switched-off', 'v1', { tags: managed, enabled: false }),
  secretInfo('orders-db-rotor-pending', 'v1', { tags: { 'rotor-pending-for': 'orders-db', team: 'orders' } }),
];

describe('selectForBatch', () => {
  it.each<[string, BatchSelector, boolean, string[], Record<string, RegExp>]>([
    [
      'all',
      { all: true },
      false,
      ['orders-db', 'billing-db'],
      {
        'orders-api': /paused/,
        'billing-legacy': /unmanaged: no rotor-rotator tag/,
        broken: /invalid policy: rotor-validity/,
        'switched-off': /disabled/,
        'orders-db-rotor-pending': /pending value for orders-db/,
      },
    ],
    ['all, forced: paused ones too', { all: true }, true, ['orders-db', 'orders-api', 'billing-db'], { 'orders-api': /^$/ }],
    ['by tag', { tags: { team: 'orders' } }, false, ['orders-db'], { 'orders-api': /paused/, broken: /invalid/, 'orders-db-rotor-pending': /pending/ }],
    ['by two tags', { tags: { team: 'billing', 'rotor-rotator': 'random' } }, false, ['billing-db'], {}],
    ['by name, case-insensitive, with a missing one', { names: ['BILLING-DB', 'billing-legacy', 'nope'] }, false, ['billing-db'], { 'billing-legacy': /unmanaged/, nope: /no secret of this name/ }],
  ])('%s', (_name, selector, force, rotated, skipped) => {
    // Act
    const selection = selectForBatch(listing, selector, readPolicy, { force });

    // Assess
    expect(selection.rotate.map((i) => i.secret.name)).toEqual(rotated);
    for (const [secret, reason] of Object.entries(skipped)) {
      const found = selection.skipped.find((s) => s.secret === secret);
      if (reason.source === '^$') expect(found).toBeUndefined();
      else expect(found?.reason).toMatch(reason);
    }
  });

  it('lists every selected secret exactly once, rotated or skipped', () => {
    const selection = selectForBatch(listing, { all: true }, readPolicy, { force: false });
    expect([...selection.rotate.map((i) => i.secret.name), ...selection.skipped.map((s) => s.secret)].sort()).toEqual(listing.map((i) => i.secret.name).sort());
  });
});
