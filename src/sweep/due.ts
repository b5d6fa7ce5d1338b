import type { SecretVersionInfo } from '../rotation/ports.js';
import type { PolicyReading } from '../ways-in/services.js';

/**
 * When a managed secret is due for rotation: `horizon` before it expires
 * (Key Vault's near-expiry event fires 30 days before `exp`). A version with
 * no expiry is due `validity` after it was created, less the horizon, so an
 * interval policy works without expiry dates; with neither, it is never due
 * on its own and only an operator starts it.
 */
export function dueAt(info: SecretVersionInfo, reading: PolicyReading, horizonMs: number): Date | undefined {
  if (info.expiresOn !== undefined) return new Date(info.expiresOn.getTime() - horizonMs);
  if (reading.kind === 'valid' && info.createdOn !== undefined) {
    return new Date(info.createdOn.getTime() + reading.policy.validityMs - horizonMs);
  }
  return undefined;
}
