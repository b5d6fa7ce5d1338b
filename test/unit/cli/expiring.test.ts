import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../../src/cli/args.js';
import { renderExpiring } from '../../../src/cli/expiring.js';
import { helpText } from '../../../src/cli/help.js';

const now = new Date('2027-01-01T00:00:00Z');

describe('rotor expiring', () => {
  it.each([
    [['expiring'], { name: 'expiring' }],
    [['expiring', '--within', 'p14d'], { name: 'expiring', within: 'P14D' }],
  ])('%j parses to %j', (argv, command) => {
    expect(parseCommandLine(argv).command).toEqual(command);
  });

  it.each([
    [['expiring', '--within', 'soon'], "--within must be an ISO-8601 duration such as P30D or PT12H, got 'soon'"],
    [['expiring', 'db-password'], 'expiring takes no arguments'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(message);
  });

  it('says who rotates each object, and marks the expired', () => {
    const lines = renderExpiring(
      {
        asOf: now.toISOString(),
        within: 'P30D',
        gaps: [],
        items: [
          { kind: 'secret', expiresOn: '2026-12-30T00:00:00Z', expired: true, vaultUrl: 'https://kv-a.vault.azure.net', name: 'old', managed: false, enabled: true },
          { kind: 'secret', expiresOn: '2027-01-05T00:00:00Z', expired: false, vaultUrl: 'https://kv-a.vault.azure.net', name: 'db', managed: true, rotator: 'postgres', nextDue: '2026-12-06T00:00:00Z', enabled: true },
          { kind: 'app-certificate', expiresOn: '2027-01-20T00:00:00Z', expired: false, appId: 'a1', appDisplayName: 'Dynamics', displayName: 'CN=dyn', keyId: 'k1' },
        ],
      },
      { color: false, now },
    );

    expect(lines).toEqual([
      expect.stringMatching(/^EXPIRES\s+WHEN\s+KIND\s+NAME\s+WHERE\s+ROTATED BY$/),
      expect.stringMatching(/^2026-12-30 00:00Z\s+expired 2d ago\s+secret\s+old\s+kv-a\.vault\.azure\.net\s+nobody: not managed$/),
      expect.stringMatching(/^2027-01-05 00:00Z\s+in 4d\s+secret\s+db\s+kv-a\.vault\.azure\.net\s+Rotor \(postgres\), due 26d ago$/),
      expect.stringMatching(/^2027-01-20 00:00Z\s+in 19d\s+certificate\s+Dynamics \/ CN=dyn\s+app a1\s+watch only$/),
    ]);
  });

  it('is in the help', () => {
    expect(helpText()).toContain('rotor expiring [--within DURATION]');
  });
});
