import { describe, expect, it } from 'vitest';
import type { SecretStore, SecretVersionInfo } from '../../../src/rotation/ports.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { currentVersionOf } from '../../../src/sweep/current-version.js';
import { secretInfo } from '../../helpers/fakes/entry.js';

/** Key Vault's listing carries no version: the latest is read to learn it. */
describe('currentVersionOf', () => {
  const listed = secretInfo('db', '');
  const store = (getLatest: SecretStore['getLatest']): SecretStore => ({ getLatest } as unknown as SecretStore);

  it.each([
    ['the listed version when the listing has one', secretInfo('db', 'v9'), () => Promise.reject(new Error('not called')), 'v9'],
    ['the latest version read from the vault', listed, () => Promise.resolve({ kind: 'found', secret: { ...listed, version: 'v3', value: SecretValue.from('x') } }), 'v3'],
    ['nothing for a secret deleted meanwhile', listed, () => Promise.resolve({ kind: 'missing' }), undefined],
    ['nothing for a disabled latest version', listed, () => Promise.resolve({ kind: 'disabled' }), undefined],
  ] as [string, SecretVersionInfo, SecretStore['getLatest'], string | undefined][])('answers %s', async (_case, info, getLatest, expected) => {
    await expect(currentVersionOf(store(getLatest), info)).resolves.toBe(expected);
  });

  it('lets other failures through, so the sweep reports them', async () => {
    await expect(currentVersionOf(store(() => Promise.reject(new Error('vault down'))), listed)).rejects.toThrow('vault down');
  });
});
