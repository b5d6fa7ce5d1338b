/**
 * Azure rotators against the local stand-in (ARM/Graph over HTTPS, Azurite for
 * storage): wall time of one prepare + self-test per kind, and stand-in start-up.
 * What a rotation step costs Rotor itself; Azure's own latency comes on top.
 */
import { startAzureManagementEmulator } from '../emulators/azure-management/index.js';
import { createLogger } from '../src/observability/logger.js';
import { createAzureRotators } from '../src/rotators/azure-rotators.js';
import { withConfig, type CurrentCredential, type Rotator } from '../src/rotation/rotator.js';
import { SecretValue } from '../src/secrecy/secret-value.js';
import { createFakeCredential } from '../test/helpers/fake-credential.js';
import { policyFor } from '../test/helpers/rotator-harness.js';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

const ROUNDS = 20;
const silent = createLogger(() => undefined);

async function timeRotations(rotator: Rotator, policy: ReturnType<typeof policyFor>, initial: string, others: Record<string, string> = {}): Promise<number[]> {
  let current: CurrentCredential = { version: 'v0', value: SecretValue.from(initial), tags: policy.tags };
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    const context = withConfig(rotator, {
      rotationId: `bench-${i}`,
      secret: { vaultUrl: 'https://kv-bench.vault.azure.net', name: 'bench' },
      policy,
      current,
      attempt: 1,
      log: silent,
      readSecret: (name) => Promise.resolve(SecretValue.from(others[name] ?? '')),
    });
    const t0 = performance.now();
    const prepared = await rotator.prepare(context);
    const result = await rotator.test(context, prepared.value);
    times.push(performance.now() - t0);
    if (!result.ok) throw new Error(`self-test failed: ${result.reason}`);
    current = { version: `v${i + 1}`, value: prepared.value, tags: policy.tags, ...(prepared.slot === undefined ? {} : { slot: prepared.slot }) };
  }
  return times.sort((a, b) => a - b);
}

const summary = (times: number[]) => `median ${times[Math.floor(times.length / 2)]!.toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms over ${times.length}`;

export default async function azureRotatorsBench(): Promise<void> {
  const t0 = performance.now();
  const standIn = await startAzureManagementEmulator({ azurite: true, storageAccounts: [{ name: 'stbench' }], eventGridTopics: [{ name: 'bench-topic' }] });
  console.log(`stand-in first start with Azurite (loads Azurite, generates the certificate): ${(performance.now() - t0).toFixed(1)} ms`);
  try {
    const [storageKey, sas, entra, eventGrid] = createAzureRotators({
      credential: createFakeCredential(),
      tenantId: standIn.tenantId,
      endpoints: { arm: standIn.armEndpoint, graph: standIn.graphEndpoint, authorityHost: standIn.authorityHost },
      blobEndpoint: (name) => standIn.blobEndpoint(name),
      transport: { tls: { ca: standIn.ca } },
    }) as [Rotator, Rotator, Rotator, Rotator];
    const account = standIn.admin.storageAccount('stbench');
    const app = standIn.admin.addApplication({ passwords: [{}] });

    console.log(`storage-account-key prepare+test: ${summary(await timeRotations(storageKey, policyFor({ rotator: 'storage-account-key', target: standIn.storageAccountId('stbench') }), account.key1))}`);
    const keyName = 'st-bench-key';
    // The SAS is signed with key1, which the key rotations above leave as the last regenerated or untouched slot: read it now.
    const connection = `AccountName=stbench;AccountKey=${standIn.admin.storageAccount('stbench').key1}`;
    await new BlobServiceClient(standIn.blobEndpoint('stbench'), new StorageSharedKeyCredential('stbench', standIn.admin.storageAccount('stbench').key1)).getContainerClient('bench').createIfNotExists();
    console.log(`storage-sas prepare+test: ${summary(await timeRotations(sas, policyFor({ rotator: 'storage-sas', target: `${standIn.blobEndpoint('stbench')}/bench`, tags: { 'rotor-sas-key-secret': keyName } }), 'none', { [keyName]: connection }))}`);
    console.log(`entra-app-secret prepare+test: ${summary(await timeRotations(entra, policyFor({ rotator: 'entra-app-secret', target: app.appId }), app.passwordCredentials[0]!.secretText))}`);
    console.log(
      `eventgrid-topic-key prepare+test (202 + one poll, publish): ${summary(
        await timeRotations(eventGrid, policyFor({ rotator: 'eventgrid-topic-key', target: standIn.eventGridTopicId('bench-topic'), tags: { 'rotor-eventgrid-endpoint': standIn.topicEndpoint('bench-topic') } }), standIn.admin.eventGridTopic('bench-topic').key1),
      )}`,
    );
  } finally {
    await standIn.stop();
  }
}
