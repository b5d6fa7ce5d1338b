import type { CredentialTestResult } from '../rotation/rotator.js';
import type { HealthProbe, HealthResult } from '../rotation/ports.js';
import type { HealthProbeTarget } from '../rotation/policy-types.js';

/**
 * The verify gate: the rotator's own credential self-test first (does the
 * provider accept the new credential?), then the consumers' probes (do the
 * applications that read the secret still work?). Both must pass.
 */
export async function checkHealthGate(input: {
  readonly selfTest: () => Promise<CredentialTestResult>;
  readonly probe: HealthProbe;
  readonly targets: readonly HealthProbeTarget[];
  readonly signal?: AbortSignal;
}): Promise<HealthResult> {
  const self = await input.selfTest();
  if (!self.ok) return { healthy: false, reason: `the provider rejects the new credential: ${self.reason}` };
  if (input.targets.length === 0) return { healthy: true };
  return input.probe.check(input.targets, input.signal === undefined ? undefined : { signal: input.signal });
}
