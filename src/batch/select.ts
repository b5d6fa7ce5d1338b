import { PendingTag } from '../rotation/pending.js';
import type { SecretVersionInfo } from '../rotation/ports.js';
import { timingOf } from '../schedule/timing.js';
import type { PolicyReading } from '../entry/services.js';
import type { BatchSelector } from './model.js';

export interface Selection {
  /** Managed secrets to rotate, in listing order. */
  readonly rotate: readonly SecretVersionInfo[];
  readonly skipped: readonly { readonly secret: string; readonly reason: string }[];
}

function matches(selector: BatchSelector, info: SecretVersionInfo): boolean {
  if ('all' in selector) return true;
  if ('names' in selector) return selector.names.some((n) => n.toLowerCase() === info.secret.name.toLowerCase());
  return Object.entries(selector.tags).every(([key, value]) => info.tags[key] === value);
}

/**
 * Which secrets of a vault listing a batch rotates. Every secret the selector
 * names but Rotor will not rotate is listed with the reason, so the operator
 * knows what still needs a hand: unmanaged, invalid policy, disabled, paused
 * (unless `force`), a name the vault does not have.
 */
export function selectForBatch(
  listing: readonly SecretVersionInfo[],
  selector: BatchSelector,
  readPolicy: (tags: Readonly<Record<string, string>>) => PolicyReading,
  options: { readonly force: boolean },
): Selection {
  const rotate: SecretVersionInfo[] = [];
  const skipped: { secret: string; reason: string }[] = [];
  for (const info of listing) {
    if (!matches(selector, info)) continue;
    const name = info.secret.name;
    const pendingFor = info.tags[PendingTag.For];
    if (pendingFor !== undefined) {
      skipped.push({ secret: name, reason: `Rotor's pending value for ${pendingFor}, rotated with it` });
      continue;
    }
    const reading = readPolicy(info.tags);
    if (reading.kind === 'unmanaged') {
      skipped.push({ secret: name, reason: 'unmanaged: no rotor-rotator tag, so Rotor cannot rotate it; rotate it by hand' });
    } else if (reading.kind === 'invalid') {
      skipped.push({ secret: name, reason: `invalid policy: ${reading.problems.map((p) => `${p.tag} ${p.message}`).join('; ')}` });
    } else if (!info.enabled) {
      skipped.push({ secret: name, reason: 'its latest version is disabled' });
    } else if (!options.force && timingOf(reading.policy.tags).paused) {
      skipped.push({ secret: name, reason: 'paused (rotor-paused=true); send force: true to rotate it anyway' });
    } else {
      rotate.push(info);
    }
  }
  if ('names' in selector) {
    const listed = new Set(listing.map((i) => i.secret.name.toLowerCase()));
    for (const name of selector.names) {
      if (!listed.has(name.toLowerCase())) skipped.push({ secret: name, reason: 'no secret of this name in the vault' });
    }
  }
  return { rotate, skipped };
}
