import { RotatorError, RotatorErrorCode } from '../rotation/rotator-errors.js';
import { Strategy, type RotationPolicy } from '../rotation/policy-types.js';
import type { PolicyProblem } from '../rotation/rotator.js';

/** A rotator's own configuration read from the policy's tags: the config, or every problem, each naming its tag. */
export type ConfigReading<Config> = { readonly config: Config } | { readonly problems: readonly PolicyProblem[] };

export interface RotatorConfig<Config> {
  /** For `Rotator.validate`: the parse's problems, plus the strategy when the rotator supports only alternating. */
  readonly validate: (policy: RotationPolicy) => PolicyProblem[];
  /**
   * For every other method: the config, parsed once per policy snapshot (the
   * steps pass the same object to each call). Begin validated the policy, so a
   * problem here means tags no rotator accepts: InvalidConfiguration.
   */
  readonly configOf: (policy: RotationPolicy) => Config;
}

export function rotatorConfig<Config>(
  parse: (policy: RotationPolicy) => ConfigReading<Config>,
  options: { readonly alternatingOnly?: string } = {},
): RotatorConfig<Config> {
  const parsed = new WeakMap<RotationPolicy, ConfigReading<Config>>();
  const read = (policy: RotationPolicy): ConfigReading<Config> => {
    let reading = parsed.get(policy);
    if (reading === undefined) {
      reading = parse(policy);
      parsed.set(policy, reading);
    }
    return reading;
  };
  return {
    validate: (policy) => {
      const reading = read(policy);
      const problems = 'problems' in reading ? [...reading.problems] : [];
      if (options.alternatingOnly !== undefined && policy.strategy !== Strategy.Alternating) {
        problems.push({ tag: 'rotor-strategy', message: `${options.alternatingOnly}: only "alternating" is supported` });
      }
      return problems;
    },
    configOf: (policy) => {
      const reading = read(policy);
      if ('problems' in reading) throw new RotatorError(RotatorErrorCode.InvalidConfiguration, reading.problems.map((p) => `${p.tag} ${p.message}`).join('; '));
      return reading.config;
    },
  };
}
