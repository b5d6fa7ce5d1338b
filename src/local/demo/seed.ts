import type { SecretClient } from '@azure/keyvault-secrets';
import { randomBytes } from 'node:crypto';
import type { ConsumerMode, DemoConsumerApp } from './consumer-app.js';

/**
 * The demo data `npm start` seeds: a few managed secrets read by the demo
 * consumer app, one of them near expiry so Key Vault's SecretNearExpiry event
 * rotates it at once, one whose consumer rejects any new value (so rotating
 * it rolls back), and one secret Rotor does not manage.
 */

export const DemoSecret = {
  /** Expires within 30 days: its SecretNearExpiry event starts a rotation as soon as it is written. */
  NearExpiry: 'demo-db-password',
  /** Managed, not due: rotate it by hand with the API. */
  Manual: 'demo-api-key',
  /** Its consumer only accepts the value it started with: a rotation rolls back. */
  RejectsNewValue: 'demo-legacy-token',
  /** No Rotor policy: the API and the intake leave it alone. */
  Unmanaged: 'demo-unmanaged-note',
} as const;
export type DemoSecret = (typeof DemoSecret)[keyof typeof DemoSecret];

export const demoConsumerModes: Readonly<Record<string, ConsumerMode>> = {
  [DemoSecret.NearExpiry]: 'any',
  [DemoSecret.Manual]: 'any',
  [DemoSecret.RejectsNewValue]: 'original',
};

const DAY = 86_400_000;

export interface SeededSecret {
  readonly name: DemoSecret;
  readonly version: string;
  readonly managed: boolean;
  readonly expiresOn?: string;
}

/** Writes the demo secrets (random initial values: the demo never prints one). */
export async function seedDemoSecrets(client: SecretClient, consumer: DemoConsumerApp, now: Date = new Date()): Promise<SeededSecret[]> {
  const policy = (name: string): Record<string, string> => ({
    'rotor-rotator': 'random',
    'rotor-validity': 'P90D',
    // Short grace locally: the consumer reads the vault on every request, it has no cache to wait out.
    'rotor-grace': 'PT2S',
    'rotor-health': consumer.healthUrl(name),
  });
  const plan: { name: DemoSecret; tags: Record<string, string>; expiresInMs?: number }[] = [
    { name: DemoSecret.Manual, tags: policy(DemoSecret.Manual), expiresInMs: 60 * DAY },
    { name: DemoSecret.RejectsNewValue, tags: policy(DemoSecret.RejectsNewValue), expiresInMs: 75 * DAY },
    { name: DemoSecret.Unmanaged, tags: { owner: 'demo' } },
    // Last, so the stack is fully seeded when its event starts the first rotation.
    { name: DemoSecret.NearExpiry, tags: policy(DemoSecret.NearExpiry), expiresInMs: 7 * DAY },
  ];
  const seeded: SeededSecret[] = [];
  for (const entry of plan) {
    const expiresOn = entry.expiresInMs === undefined ? undefined : new Date(now.getTime() + entry.expiresInMs);
    const written = await client.setSecret(entry.name, randomBytes(24).toString('base64url'), {
      tags: entry.tags,
      contentType: 'text/plain',
      ...(expiresOn === undefined ? {} : { expiresOn }),
    });
    seeded.push({
      name: entry.name,
      version: written.properties.version ?? '',
      managed: entry.tags['rotor-rotator'] !== undefined,
      ...(expiresOn === undefined ? {} : { expiresOn: expiresOn.toISOString() }),
    });
  }
  return seeded;
}
