import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSettings, settingCatalogue } from '../../../src/config/index.js';

const example = JSON.parse(readFileSync(new URL('../../../local.settings.example.json', import.meta.url), 'utf8')) as {
  Values: Record<string, string>;
};

describe('local.settings.example.json', () => {
  it('is a valid local configuration', () => {
    const settings = loadSettings(example.Values);

    expect(settings.serviceBus.kind).toBe('connectionString');
    expect(settings.ledgerStorage.kind).toBe('connectionString');
  });

  it('sets every setting that applies locally', () => {
    const localNames = Object.entries(settingCatalogue)
      .filter(([name, s]) => s.where !== 'azure' || !name.includes('__'))
      .map(([name]) => name)
      .filter((name) => name !== 'AZURE_CLIENT_ID');

    expect(Object.keys(example.Values)).toEqual(expect.arrayContaining(localNames));
  });
});
