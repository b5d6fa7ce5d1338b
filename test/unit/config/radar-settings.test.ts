import { describe, expect, it } from 'vitest';
import { ConfigurationError, loadSettings } from '../../../src/config/index.js';

const env = {
  ServiceBusConnection: 'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey=abc;UseDevelopmentEmulator=true',
  LedgerStorage: 'UseDevelopmentStorage=true',
  ROTOR_ALLOWED_VAULTS: 'https://127.0.0.1:8443',
};
const DAY = 86_400_000;

function problemOf(extra: Record<string, string>): { variable: string; message: string } | undefined {
  try {
    loadSettings({ ...env, ...extra });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as ConfigurationError).problems[0];
  }
  return undefined;
}

describe('expiry radar settings', () => {
  it('default to warnings at 30, 14, 7 and 1 days and no extra applications', () => {
    const settings = loadSettings(env);

    expect(settings.expiryWarningsMs).toEqual([30 * DAY, 14 * DAY, 7 * DAY, DAY]);
    expect(settings.watchApplications).toEqual([]);
  });

  it('read thresholds in any order, widest first, without duplicates, and application ids in lower case', () => {
    const settings = loadSettings({ ...env, ROTOR_EXPIRY_WARNINGS: 'PT12H, P7D,P7D,P60D', ROTOR_WATCH_APPLICATIONS: ' AAAAAAAA-0000-4000-8000-000000000001 ,bbbbbbbb-0000-4000-8000-000000000002' });

    expect(settings.expiryWarningsMs).toEqual([60 * DAY, 7 * DAY, DAY / 2]);
    expect(settings.watchApplications).toEqual(['aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002']);
  });

  it.each([
    ['ROTOR_EXPIRY_WARNINGS', 'P30D,soon', 'ISO-8601 durations'],
    ['ROTOR_EXPIRY_WARNINGS', 'P0D', 'longer than zero'],
    ['ROTOR_EXPIRY_WARNINGS', ' , ', 'at least one duration'],
    ['ROTOR_WATCH_APPLICATIONS', 'my-app', 'application (client) ids'],
  ])('name %s when it is %j', (variable, value, message) => {
    expect(problemOf({ [variable]: value })).toEqual({ variable, message: expect.stringContaining(message) });
  });
});
