import type { SecretClient } from '@azure/keyvault-secrets';
import type { ConsumerCounts } from './consumer.js';
import type { ScenarioGround } from './ground.js';

/** What every scenario seed shares: the consumers' TTL and grace, the running scenario's shape, the seed context. */

export const SCENARIO_TTL_MS = 2_000;
/** Longer than the TTL plus a request: by the end of it every consumer holds the new value. */
export const SCENARIO_GRACE = 'PT4S';
export const REQUEST_INTERVAL_MS = 250;

export interface ScenarioSecret {
  readonly name: string;
  readonly rotator: string;
}

export interface ScenarioReport {
  readonly scenario: string;
  readonly secrets: readonly ScenarioSecret[];
  readonly requests: ConsumerCounts;
  readonly events?: { readonly published: number; readonly received: number };
}

export interface RunningScenario {
  readonly name: string;
  readonly summary: string;
  readonly secrets: readonly ScenarioSecret[];
  /** Uses the latest value once (Rotor's health probe): undefined when it works, else why not. */
  health(secret: string): Promise<string | undefined>;
  report(): ScenarioReport;
  /** Lets in-flight work land (events still being delivered) before a final report. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export interface SeedContext {
  readonly ground: ScenarioGround;
  /** Writes secrets as their owner would (Key Vault Secrets Officer). */
  readonly admin: SecretClient;
  /** What the consumers read with (Key Vault Secrets User). */
  readonly reader: SecretClient;
  /** `rotor-health` URL of a secret. */
  readonly healthUrl: (secret: string) => string;
  readonly ttlMs?: number;
}

export const commonTags = (ctx: SeedContext, secret: string): Record<string, string> => ({
  'rotor-grace': SCENARIO_GRACE,
  'rotor-health': ctx.healthUrl(secret),
});

export async function attempt(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return (error as { statusCode?: number }).statusCode === undefined ? 'the request failed' : `answered ${(error as { statusCode: number }).statusCode}`;
  }
}

