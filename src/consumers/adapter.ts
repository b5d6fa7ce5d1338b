import type { SecretRef } from '../keyvault/secret-ref.js';
import type { ConsumerEntry } from './entries.js';

/**
 * What a consumer adapter is told: which secret moved to which version. No
 * value ever: the consumer re-reads the secret from Key Vault itself.
 */
export interface NudgeContext {
  readonly secret: SecretRef;
  /** The Key Vault version id the consumer should now use: the promoted one, or the restored one on rollback. */
  readonly version: string;
  readonly rotationId: string;
  /** `adopt` after promote; `return` on rollback, so consumers go back to the old credential. */
  readonly purpose: 'adopt' | 'return';
  readonly signal?: AbortSignal;
}

/** What a consumer says about the version it uses. */
export type AdoptionReport =
  /** It uses `version`, the one asked for. */
  | { readonly state: 'adopted'; readonly version: string; readonly detail: string }
  /** It answered, but not with the version asked for (another version, or a reference not yet resolved). */
  | { readonly state: 'behind'; readonly version?: string; readonly detail: string }
  /** This kind of consumer cannot say (a Container App): the grace period and health probes stand in. */
  | { readonly state: 'unreported'; readonly detail: string };

export interface NudgeResult {
  /** Short, value-free: `refresh accepted`, `restarted revision app--abc12`, `CloudEvent accepted (202)`. */
  readonly detail: string;
}

/**
 * One kind of consumer. Both calls are idempotent (a refresh, a restart and a
 * CloudEvent with a stable id can be repeated) and throw `ConsumerError` when
 * they fail; `transient` ones are retried by the step.
 */
export interface ConsumerAdapter<E extends ConsumerEntry = ConsumerEntry> {
  nudge(entry: E, context: NudgeContext): Promise<NudgeResult>;
  readAdoption(entry: E, context: NudgeContext): Promise<AdoptionReport>;
}

/** The adapters for every kind, dispatched on the entry. */
export interface ConsumerAdapters {
  readonly appservice: ConsumerAdapter<Extract<ConsumerEntry, { kind: 'appservice' }>>;
  readonly containerapp: ConsumerAdapter<Extract<ConsumerEntry, { kind: 'containerapp' }>>;
  readonly https: ConsumerAdapter<Extract<ConsumerEntry, { kind: 'https' }>>;
}

/** Nudges and reads any declared consumer through the adapter of its kind. */
export interface ConsumerGateway {
  nudge(entry: ConsumerEntry, context: NudgeContext): Promise<NudgeResult>;
  readAdoption(entry: ConsumerEntry, context: NudgeContext): Promise<AdoptionReport>;
}

export function createConsumerGateway(adapters: ConsumerAdapters): ConsumerGateway {
  return {
    nudge(entry, context) {
      switch (entry.kind) {
        case 'appservice':
          return adapters.appservice.nudge(entry, context);
        case 'containerapp':
          return adapters.containerapp.nudge(entry, context);
        case 'https':
          return adapters.https.nudge(entry, context);
      }
    },
    readAdoption(entry, context) {
      switch (entry.kind) {
        case 'appservice':
          return adapters.appservice.readAdoption(entry, context);
        case 'containerapp':
          return adapters.containerapp.readAdoption(entry, context);
        case 'https':
          return adapters.https.readAdoption(entry, context);
      }
    },
  };
}
