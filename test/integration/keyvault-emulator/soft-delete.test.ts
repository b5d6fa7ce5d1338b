import type { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmulatorSecretClient,
  keyVaultEmulatorOptions,
  startKeyVaultEmulator,
  type KeyVaultEmulator,
} from '../../../emulators/keyvault/index.js';
import { bearer, rawRequest, rejectionOf } from './raw.js';

const START = new Date('2030-01-01T00:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
// The SDK's pollers wait 2 s between polls unless told otherwise.
const fastPolling = { intervalInMs: 5 };

describe('Key Vault emulator: soft delete, recover, purge, backup and restore', () => {
  let kv: KeyVaultEmulator;
  let client: SecretClient;

  beforeAll(async () => {
    // The emulator clock stands still here: deletes complete at once unless a test asks for the delay.
    kv = await startKeyVaultEmulator({ clockStart: START, deletionDelayMs: 0 });
    client = createEmulatorSecretClient(kv);
  });
  afterAll(async () => {
    await kv.stop();
  });
  beforeEach(() => {
    kv.admin.reset();
    kv.admin.clock.set(START);
  });

  it('soft-deletes: the deleted bundle carries recoveryId, deletedDate and a purge date 90 days on; get answers 404', async () => {
    // Prepare
    await client.setSecret('to-delete', 'v');

    // Act
    const poller = await client.beginDeleteSecret('to-delete', fastPolling);
    const deleted = await poller.pollUntilDone();
    const fetched = await client.getDeletedSecret('to-delete');
    const getError = await rejectionOf(client.getSecret('to-delete'));

    // Assess
    expect(deleted.recoveryId).toBe(`${kv.url}/deletedsecrets/to-delete`);
    expect(deleted.scheduledPurgeDate!.getTime() - deleted.deletedOn!.getTime()).toBe(90 * DAY);
    expect(fetched.recoveryId).toBe(deleted.recoveryId);
    expect(fetched.value).toBeUndefined();
    expect(getError.statusCode).toBe(404);
    expect(getError.code).toBe('SecretNotFound');
  });

  it('answers 409 Conflict (ObjectIsDeletedButRecoverable) to a set on a soft-deleted name', async () => {
    // Prepare
    await client.setSecret('reused', 'v');
    await (await client.beginDeleteSecret('reused', fastPolling)).pollUntilDone();

    // Act
    const error = await rejectionOf(client.setSecret('reused', 'again'));

    // Assess
    expect(error.statusCode).toBe(409);
    expect(error.code).toBe('Conflict');
    expect(error.details?.error.innerError?.code).toBe('ObjectIsDeletedButRecoverable');
  });

  it('recovers every version of a deleted secret', async () => {
    // Prepare
    const first = await client.setSecret('recoverable', 'one');
    await client.setSecret('recoverable', 'two');
    await (await client.beginDeleteSecret('recoverable', fastPolling)).pollUntilDone();

    // Act
    const recovered = await (await client.beginRecoverDeletedSecret('recoverable', fastPolling)).pollUntilDone();

    // Assess
    expect(recovered.name).toBe('recoverable');
    expect((await client.getSecret('recoverable')).value).toBe('two');
    expect((await client.getSecret('recoverable', { version: first.properties.version! })).value).toBe('one');
    await expect(client.getDeletedSecret('recoverable')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('purges with 204, after which the name can be used again', async () => {
    // Prepare
    await client.setSecret('purged', 'old');
    await (await client.beginDeleteSecret('purged', fastPolling)).pollUntilDone();

    // Act
    const response = await rawRequest(kv, { method: 'DELETE', path: '/deletedsecrets/purged?api-version=7.6', headers: bearer() });
    const recreated = await client.setSecret('purged', 'new');

    // Assess
    expect(response.status).toBe(204);
    expect(response.text).toBe('');
    expect((await client.getSecret('purged')).value).toBe('new');
    expect(recreated.properties.version).toMatch(/^[0-9a-f]{32}$/);
  });

  it('purges a deleted secret by itself once its scheduled purge date passes', async () => {
    // Prepare
    await client.setSecret('expires-from-bin', 'v');
    await (await client.beginDeleteSecret('expires-from-bin', fastPolling)).pollUntilDone();

    // Act
    kv.admin.clock.advance(91 * DAY);

    // Assess
    await expect(client.getDeletedSecret('expires-from-bin')).rejects.toMatchObject({ statusCode: 404 });
    await expect(client.setSecret('expires-from-bin', 'fresh')).resolves.toMatchObject({ value: 'fresh' });
  });

  it('answers 404 to a recover or purge of a name that is not deleted', async () => {
    // Prepare
    await client.setSecret('alive', 'v');

    // Act
    const purge = await rejectionOf(client.purgeDeletedSecret('alive'));
    const recover = await rejectionOf(client.beginRecoverDeletedSecret('never-existed'));

    // Assess
    expect(purge.statusCode).toBe(404);
    expect(purge.details?.error.message).toBe('Deleted Secret not found: alive');
    expect(recover.statusCode).toBe(404);
  });

  it('takes seconds to delete by default, as Azure does: the deleted secret is not there at once', async () => {
    // Prepare
    const realistic = await startKeyVaultEmulator();
    const realisticClient = createEmulatorSecretClient(realistic);
    try {
      await realisticClient.setSecret('default-delay', 'v');

      // Act
      const poller = await realisticClient.beginDeleteSecret('default-delay', fastPolling);
      const notYet = await rejectionOf(realisticClient.getDeletedSecret('default-delay'));
      const deleted = await poller.pollUntilDone();

      // Assess
      expect(keyVaultEmulatorOptions.parse({}).deletionDelayMs).toBe(2_000);
      expect(notYet.statusCode).toBe(404);
      expect(deleted.name).toBe('default-delay');
    } finally {
      await realistic.stop();
    }
  });

  it('keeps a delete in progress for deletionDelayMs: the SDK poller waits, set answers ObjectIsBeingDeleted', async () => {
    // Prepare
    const slow = await startKeyVaultEmulator({ deletionDelayMs: 60_000 });
    const slowClient = createEmulatorSecretClient(slow);
    try {
      await slowClient.setSecret('slow-delete', 'v');

      // Act
      const poller = await slowClient.beginDeleteSecret('slow-delete', fastPolling);
      await poller.poll();
      const doneBefore = poller.isDone();
      const conflict = await rejectionOf(slowClient.setSecret('slow-delete', 'again'));
      slow.admin.clock.advance(61_000);
      const deleted = await poller.pollUntilDone();

      // Assess
      expect(doneBefore).toBe(false);
      expect(conflict.statusCode).toBe(409);
      expect(conflict.details?.error.innerError?.code).toBe('ObjectIsBeingDeleted');
      expect(deleted.recoveryId).toBe(`${slow.url}/deletedsecrets/slow-delete`);
      expect(slow.admin.counters().operations.getDeleted.calls).toBeGreaterThanOrEqual(2);
    } finally {
      await slow.stop();
    }
  });

  it('keeps a recover in progress for deletionDelayMs: get answers 404 and set ObjectIsBeingRecovered until it completes', async () => {
    // Prepare
    const slow = await startKeyVaultEmulator({ deletionDelayMs: 60_000 });
    const slowClient = createEmulatorSecretClient(slow);
    try {
      await slowClient.setSecret('slow-recover', 'recovered-value');
      await slowClient.beginDeleteSecret('slow-recover', fastPolling);
      slow.admin.clock.advance(61_000);

      // Act
      const poller = await slowClient.beginRecoverDeletedSecret('slow-recover', fastPolling);
      const doneBefore = poller.isDone();
      const getWhileRecovering = await rejectionOf(slowClient.getSecret('slow-recover'));
      const setWhileRecovering = await rejectionOf(slowClient.setSecret('slow-recover', 'again'));
      slow.admin.clock.advance(61_000);
      await poller.pollUntilDone();

      // Assess
      expect(doneBefore).toBe(false);
      expect(getWhileRecovering.statusCode).toBe(404);
      expect(setWhileRecovering.statusCode).toBe(409);
      expect(setWhileRecovering.details?.error.innerError?.code).toBe('ObjectIsBeingRecovered');
      expect((await slowClient.getSecret('slow-recover')).value).toBe('recovered-value');
    } finally {
      await slow.stop();
    }
  });

  it('backs up every version as an opaque blob and restores them after a purge', async () => {
    // Prepare
    const first = await client.setSecret('backed-up', 'backup-value-one');
    await client.setSecret('backed-up', 'backup-value-two', { tags: { kept: 'yes' } });
    const blob = await client.backupSecret('backed-up');
    await (await client.beginDeleteSecret('backed-up', fastPolling)).pollUntilDone();
    await client.purgeDeletedSecret('backed-up');

    // Act
    const restored = await client.restoreSecretBackup(blob!);

    // Assess
    expect(Buffer.from(blob!).toString('latin1')).not.toContain('backup-value');
    expect(restored.name).toBe('backed-up');
    expect(restored.tags).toEqual({ kept: 'yes' });
    expect((await client.getSecret('backed-up')).value).toBe('backup-value-two');
    expect((await client.getSecret('backed-up', { version: first.properties.version! })).value).toBe('backup-value-one');
  });

  it('refuses to restore over an existing secret (409) and a corrupt blob (400 Malformed backup blob)', async () => {
    // Prepare
    await client.setSecret('existing', 'v');
    const blob = await client.backupSecret('existing');
    const corrupt = Uint8Array.from(blob!);
    corrupt[corrupt.length - 1] = corrupt.at(-1)! ^ 0xff;

    // Act
    const conflict = await rejectionOf(client.restoreSecretBackup(blob!));
    const malformed = await rejectionOf(client.restoreSecretBackup(corrupt));

    // Assess
    expect(conflict.statusCode).toBe(409);
    expect(malformed.statusCode).toBe(400);
    expect(malformed.code).toBe('Malformed backup blob');
    expect(malformed.details?.error.message).toBe('Backup blob contains invalid or corrupt version.');
  });

  it('shows a retention under 90 days as CustomizedRecoverable+Purgeable', async () => {
    // Prepare
    const short = await startKeyVaultEmulator({ softDeleteRetentionDays: 7, deletionDelayMs: 0 });
    const shortClient = createEmulatorSecretClient(short);
    try {
      // Act
      const created = await shortClient.setSecret('short', 'v');
      const deleted = await (await shortClient.beginDeleteSecret('short', fastPolling)).pollUntilDone();

      // Assess
      expect(created.properties.recoveryLevel).toBe('CustomizedRecoverable+Purgeable');
      expect(created.properties.recoverableDays).toBe(7);
      expect(deleted.scheduledPurgeDate!.getTime() - deleted.deletedOn!.getTime()).toBe(7 * DAY);
    } finally {
      await short.stop();
    }
  });
});
