import { createFakeClock, createFakeLedger } from '../../helpers/fakes/index.js';
import { describeLedgerConformance } from '../../helpers/ledger-conformance.js';

// The in-memory ledger every engine and ways-in test runs on; the blob ledger passes the same suite on Azurite.
describeLedgerConformance('the in-memory ledger', () => {
  const clock = createFakeClock();
  const ledger = createFakeLedger({ now: () => clock.now() });
  return Promise.resolve({ ledger, auditEntries: () => Promise.resolve([...ledger.audit]) });
});
