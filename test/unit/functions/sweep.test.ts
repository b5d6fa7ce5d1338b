import { InvocationContext, type Timer } from '@azure/functions';
import { afterEach, describe, expect, it } from 'vitest';
import { sweepHandler } from '../../../functions/sweep.js';
import { useRotor } from '../../../src/app/compose.js';
import type { ExpiryWarning } from '../../../src/radar/publisher.js';
import { provideRadarServices } from '../../../src/radar/services.js';
import type { SecretStore } from '../../../src/rotation/ports.js';
import { partialRotor } from '../../helpers/fakes/index.js';
import { createFakeWaysIn, secretInfo, TEST_VAULT } from '../../helpers/fakes/entry.js';

const DAY = 86_400_000;
const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

afterEach(() => {
  useRotor(undefined);
  provideRadarServices(undefined);
});

describe('the sweep function', () => {
  it('lists each vault once: the expiry warnings read the listing the sweep made', async () => {
    // Prepare: a managed secret due by expiry and an unmanaged one expiring, in a store that counts its listings
    const fake = createFakeWaysIn({
      now: '2026-11-22T10:00:00Z',
      secrets: [
        secretInfo('orders-db', 'a1', { tags: { 'rotor-rotator': 'random' }, expiresOn: '2026-11-27T00:00:00Z' }),
        secretInfo('legacy-key', 'b1', { expiresOn: '2026-11-25T00:00:00Z' }),
      ],
    });
    const listings: string[] = [];
    const secrets: SecretStore = {
      ...fake.store,
      listSecrets: (vaultUrl) => {
        listings.push(vaultUrl);
        return fake.store.listSecrets(vaultUrl);
      },
    };
    const services = { ...fake.services, secrets };
    const warned: ExpiryWarning[] = [];
    useRotor(partialRotor({ entry: services }));
    provideRadarServices({
      sources: { allowedVaults: services.allowedVaults, secrets, readPolicy: services.readPolicy, expiryHorizonMs: services.expiryHorizonMs, watchApplications: [], log: services.log },
      record: { claim: () => Promise.resolve(true), release: () => Promise.resolve() },
      publisher: { publish: (warning) => Promise.resolve(warned.push(warning) > 0) },
      thresholdsMs: [30 * DAY, 7 * DAY],
      clock: fake.clock,
      log: services.log,
    });

    // Act
    await sweepHandler(timer, new InvocationContext({ functionName: 'sweep', invocationId: 'sweep-1' }));

    // Assess
    expect(listings).toEqual([TEST_VAULT]);
    expect(fake.ledger.rotations().map((r) => [r.secret.name, r.trigger.kind])).toEqual([['orders-db', 'sweep']]);
    expect(warned.map((w) => [w.item.objectKey.split('/').at(-1), w.threshold]).sort()).toEqual([
      ['legacy-key', 'P7D'],
      ['orders-db', 'P7D'],
    ]);
  });
});
