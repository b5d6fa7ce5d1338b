import type { KeyName, KeyPair, KeyPairApi } from '../azure-management/key-pairs.js';
import type { ArmResourceId } from '../azure-management/resource-id.js';
import type { SecretValue } from '../secrecy/secret-value.js';
import { Strategy } from '../rotation/model.js';
import type { RotationPolicy } from '../rotation/policy-types.js';
import { callProvider } from './azure-errors.js';
import { RotatorError, RotatorErrorCode } from '../rotation/rotator-errors.js';
import type { ConfigReading, CredentialTestResult, CurrentCredential, PreparedCredential, Rotator, RotatorContext } from '../rotation/rotator.js';

/**
 * The alternating key-pair protocol shared by Storage account keys and Event
 * Grid topic keys: the provider holds key1 and key2; a rotation regenerates
 * the one the secret does not hold, so the key consumers use keeps working
 * through promote, verify and rollback, and dies only at the next rotation
 * (or at revoke-after, which regenerates it).
 */
export interface KeyPairTarget {
  readonly resource: ArmResourceId;
  /** Human label for logs and errors (`storage account stcontoso`). */
  readonly label: string;
}

export interface KeyPairRotatorSpec<Config extends KeyPairTarget> {
  readonly kind: string;
  readonly api: KeyPairApi;
  /** Reads the rotator's tags; problems name their tag. */
  parse(policy: RotationPolicy): ConfigReading<Config>;
  /** What the secret holds for a key: the key itself or a connection string. */
  format(config: Config, key: SecretValue): SecretValue;
  /** The key inside a stored value; `undefined` when the value holds none. */
  extractKey(config: Config, value: SecretValue): SecretValue | undefined;
  /** Self-test with the provider (SharedKey call, publish); `keys` as listed now. */
  selfTest(context: RotatorContext<Config>, key: SecretValue): Promise<CredentialTestResult>;
}

const other = (slot: KeyName): KeyName => (slot === 'key1' ? 'key2' : 'key1');
const isKeyName = (value: string | undefined): value is KeyName => value === 'key1' || value === 'key2';

function slotHolding(keys: KeyPair, key: SecretValue | undefined): KeyName | undefined {
  if (key === undefined) return undefined;
  if (keys.key1.equals(key)) return 'key1';
  if (keys.key2.equals(key)) return 'key2';
  return undefined;
}

export function createKeyPairRotator<Config extends KeyPairTarget>(spec: KeyPairRotatorSpec<Config>): Rotator<Config> {
  const call = callProvider;

  /**
   * Which key the secret holds now. The value itself decides when it matches
   * a listed key; otherwise the slot the engine recorded (`rotor-slot`) or the
   * sample's `CredentialId` tag; otherwise key1 is assumed active, so key2 is
   * regenerated and nothing a consumer might hold from key1 breaks.
   */
  const activeSlot = (context: RotatorContext<Config>, keys: KeyPair): KeyName => {
    const { config } = context;
    const matched = slotHolding(keys, spec.extractKey(config, context.current.value));
    if (matched !== undefined) return matched;
    const hint = [context.current.slot, context.current.tags['rotor-slot'], context.current.tags.CredentialId].find(isKeyName);
    context.log.warn('current value matches neither provider key; choosing the active slot from tags', { target: config.label, slot: hint ?? 'key1' });
    return hint ?? 'key1';
  };

  return {
    kind: spec.kind,
    strategies: [Strategy.Alternating],

    readConfig: (policy) => spec.parse(policy),

    async prepare(context): Promise<PreparedCredential> {
      const { config } = context;
      const keys = await call(`listKeys on ${config.label}`, () => spec.api.listKeys(config.resource, context.signal));
      const active = activeSlot(context, keys);
      const next = other(active);
      // A replay after a crash regenerates the same inactive slot again: the key pair has no orphans to leak.
      const after = await call(`regenerateKey ${next} on ${config.label}`, () => spec.api.regenerateKey(config.resource, next, context.signal));
      context.log.info('regenerated the inactive key', { target: config.label, slot: next, activeSlot: active, attempt: context.attempt });
      return { value: spec.format(config, after[next]), slot: next, refs: { resourceId: config.resource.id, keyName: next } };
    },

    async test(context, credential) {
      const { config } = context;
      const key = spec.extractKey(config, credential);
      if (key === undefined) return { ok: false, reason: `the value holds no key for ${config.label}` };
      return call(`self-test on ${config.label}`, () => spec.selfTest(context, key));
    },

    /**
     * Nothing at the provider is undone: the regenerated key was never in use
     * and is regenerated again by the next rotation. What rollback needs is
     * that the previous key still works, so that is checked.
     */
    async restore(context, previous: CurrentCredential) {
      const { config } = context;
      const keys = await call(`listKeys on ${config.label}`, () => spec.api.listKeys(config.resource, context.signal));
      const slot = slotHolding(keys, spec.extractKey(config, previous.value));
      if (slot === undefined) {
        throw new RotatorError(
          RotatorErrorCode.ProviderRejected,
          `rollback cannot restore ${config.label}: the previous key is no longer one of its keys (regenerated outside this rotation)`,
        );
      }
      context.log.info('previous key is still valid; nothing to undo at the provider', { target: config.label, slot });
    },

    /** Revoke-after: regenerate the superseded key's slot, so the old key stops working. Idempotent. */
    async revoke(context, superseded) {
      const { config } = context;
      const keys = await call(`listKeys on ${config.label}`, () => spec.api.listKeys(config.resource, context.signal));
      const supersededKey = spec.extractKey(config, superseded.value);
      const slot = slotHolding(keys, supersededKey);
      if (slot === undefined) {
        context.log.info('superseded key is already gone; nothing to revoke', { target: config.label });
        return;
      }
      const currentKey = spec.extractKey(config, context.current.value);
      if (currentKey !== undefined && supersededKey !== undefined && currentKey.equals(supersededKey)) {
        throw new RotatorError(RotatorErrorCode.InvalidConfiguration, `refusing to revoke ${slot} on ${config.label}: the secret's latest version holds it`);
      }
      await call(`regenerateKey ${slot} on ${config.label}`, () => spec.api.regenerateKey(config.resource, slot, context.signal));
      context.log.info('revoked the superseded key by regenerating its slot', { target: config.label, slot });
    },
  };
}
