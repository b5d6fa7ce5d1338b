import { describe, expect, it } from 'vitest';
import { isRotationError } from '../../../src/rotation/errors.js';
import { findPending, pendingSecretName, readPending, writePending } from '../../../src/rotation/pending.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { createFakeSecretStore, FAKE_VAULT } from '../../helpers/fakes/index.js';

describe('pending companion secret', () => {
  it.each([
    ['db-password', 'db-password-rotor-pending'],
    ['a'.repeat(113), `${'a'.repeat(113)}-rotor-pending`],
  ])('names the companion of %s readably when it fits', (name, expected) => {
    expect(pendingSecretName(name)).toBe(expected);
  });

  it('hashes a name that would pass 127 characters, staying a valid and distinct name', () => {
    const long = pendingSecretName('b'.repeat(127));
    expect(long).toMatch(/^[0-9a-zA-Z-]{1,127}$/);
    expect(long).not.toBe(pendingSecretName(`${'b'.repeat(126)}c`));
    expect(pendingSecretName('B'.repeat(127))).toBe(long);
  });

  it('finds the version an earlier attempt of the same rotation wrote, with slot and refs', async () => {
    // Prepare
    const store = createFakeSecretStore();
    const secret = { vaultUrl: FAKE_VAULT, name: 'app-key' };
    const version = await writePending(store, secret, 'rot-1', { value: SecretValue.from('pending-value-123'), slot: 'key2', refs: { keyId: 'k-9' } });

    // Act
    const mine = await findPending(store, secret, 'rot-1');
    const other = await findPending(store, secret, 'rot-2');

    // Assess
    expect(mine?.version).toBe(version);
    expect(mine?.prepared.slot).toBe('key2');
    expect(mine?.prepared.refs).toEqual({ keyId: 'k-9' });
    expect(mine?.prepared.value.reveal()).toBe('pending-value-123');
    expect(other).toBeUndefined();
  });

  it('treats a disabled pending version as finished with', async () => {
    const store = createFakeSecretStore();
    const secret = { vaultUrl: FAKE_VAULT, name: 'app-key' };
    const version = await writePending(store, secret, 'rot-1', { value: SecretValue.from('pending-value-123') });
    await store.setEnabled({ vaultUrl: FAKE_VAULT, name: 'app-key-rotor-pending' }, version, false);

    expect(await findPending(store, secret, 'rot-1')).toBeUndefined();
    expect(await readPending(store, secret, version)).toBeUndefined();
  });

  it("refuses to write over a user's secret that happens to have the companion's name", async () => {
    // Prepare
    const store = createFakeSecretStore();
    const secret = { vaultUrl: FAKE_VAULT, name: 'app-key' };
    store.seed({ vaultUrl: FAKE_VAULT, name: 'app-key-rotor-pending' }, { value: 'unrelated-value-1' });

    // Act
    const error = await findPending(store, secret, 'rot-1').catch((e: unknown) => e);

    // Assess
    expect(isRotationError(error) && error.code).toBe('PendingNameCollision');
  });
});
