export { loadSettings, getSettings, settingCatalogue } from './settings.js';
export type { RotorSettings, Connection, SettingName } from './settings.js';
export { ConfigurationError } from './errors.js';
export type { SettingProblem } from './errors.js';
