/** One setting that is missing or malformed, named as the operator sets it. */
export interface SettingProblem {
  readonly variable: string;
  readonly message: string;
}

/** Start-up configuration is unusable; the message names every bad variable. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  readonly problems: readonly SettingProblem[];

  constructor(problems: readonly SettingProblem[], options?: ErrorOptions) {
    super(
      `Rotor configuration is invalid: ${problems.map((p) => `${p.variable}: ${p.message}`).join('; ')}`,
      options,
    );
    this.problems = problems;
  }
}
