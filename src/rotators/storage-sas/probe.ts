import { AnonymousCredential, BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { describeRestFailure, readRestError, RestFailureKind } from '../../azure/rest-error.js';
import type { CredentialTestResult } from '../../rotation/rotator.js';
import type { BlobTarget } from './target.js';

/** Blob name the container-scoped probes touch; nothing is ever written to it (blocks stay uncommitted). */
export const probeBlobName = '.rotor-probe';
// An ETag no blob has: a delete guarded by it is authorised (or refused) but never deletes anything.
const impossibleEtag = '"0x0rotorprobe"';
const probeBlockId = Buffer.from('rotor-probe-block').toString('base64');

type Outcome = 'authorised' | 'refused';

interface Probe {
  readonly name: string;
  run(): Promise<unknown>;
}

/**
 * What the SAS lets its holder do, checked with harmless calls: reads,
 * listing the first page, staging an uncommitted block, and a delete guarded
 * by an ETag no blob has (authorised → 412, never a deletion).
 */
export async function probeSas(target: BlobTarget, sasQuery: string, permissions: string, signal?: AbortSignal): Promise<CredentialTestResult> {
  const options = { retryOptions: { maxTries: 2 } };
  const container = new ContainerClient(`${target.accountUrl}/${encodeURIComponent(target.containerName)}?${sasQuery}`, new AnonymousCredential(), options);
  const blobName = target.blobName ?? probeBlobName;
  const blob = container.getBlockBlobClient(blobName);
  const abort = signal === undefined ? {} : { abortSignal: signal };

  const probes: Record<string, Probe> = {
    r: { name: `read properties of ${blobName}`, run: () => blob.getProperties(abort) },
    l: {
      name: 'list blobs',
      run: async () => {
        await container.listBlobsFlat(abort).byPage({ maxPageSize: 1 }).next();
      },
    },
    w: { name: `stage a block on ${blobName}`, run: () => blob.stageBlock(probeBlockId, Buffer.from('rotor'), 5, abort) },
    d: { name: `delete ${blobName} (guarded by an impossible ETag)`, run: () => blob.delete({ ...abort, conditions: { ifMatch: impossibleEtag } }) },
  };
  const order = target.blobName === undefined ? ['l', 'r', 'w', 'd'] : ['r', 'w', 'd'];

  const allowed = order.find((p) => permissions.includes(p));
  if (allowed === undefined) return { ok: false, reason: 'the SAS permissions include none of r, l, w, d: nothing to test with' };
  const allowedProbe = probes[allowed] as Probe;
  const first = await attempt(allowedProbe);
  if (first.outcome === 'refused') return { ok: false, reason: `storage refused the SAS to ${allowedProbe.name} (${first.detail})` };

  // Every permission the policy does not grant must be refused; with all of them granted, the scope must hold.
  const missing = (target.blobName === undefined ? ['d', 'w', 'l', 'r'] : ['d', 'w', 'r']).filter((p) => !permissions.includes(p));
  const outOfScope: Probe =
    target.blobName === undefined
      ? {
          name: 'list the containers of the account',
          run: async () => {
            await new BlobServiceClient(`${target.accountUrl}?${sasQuery}`, new AnonymousCredential(), options).listContainers(abort).byPage({ maxPageSize: 1 }).next();
          },
        }
      : { name: `read a sibling blob of ${blobName}`, run: () => container.getBlobClient(`${blobName}${probeBlobName}`).getProperties(abort) };
  const forbidden = missing.length > 0 ? missing.map((p) => probes[p] as Probe) : [outOfScope];
  for (const probe of forbidden) {
    const outcome = await attempt(probe);
    if (outcome.outcome === 'authorised') return { ok: false, reason: `the SAS was allowed to ${probe.name}, which it must not grant` };
  }
  return { ok: true };
}

async function attempt(probe: Probe): Promise<{ outcome: Outcome; detail: string }> {
  try {
    await probe.run();
    return { outcome: 'authorised', detail: 'ok' };
  } catch (error) {
    const failure = readRestError(error);
    // Not found / condition not met: the request passed authorisation and stopped at the data.
    if (failure?.kind === RestFailureKind.NotFound || failure?.kind === RestFailureKind.Conflict) return { outcome: 'authorised', detail: String(failure.status) };
    if (failure?.kind === RestFailureKind.PermissionDenied) return { outcome: 'refused', detail: describeRestFailure(failure) };
    throw error;
  }
}
