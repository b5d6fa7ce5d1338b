import { createFakeClock, createFakeLedger } from '../../helpers/fakes/index.js';
import { describeLedgerConformance } from '../../helpers/ledger-conformance.js';

// The in-memory ledger every engine and ways-in test runs on; the blob ledger passes the same suite on Azurite.
describeLedgerConformance('the in-memory ledger', () => {
  const clock = createFakeClock();
  return Promise.resolve(createFakeLedger({ now: () => clock.now() }));
});
