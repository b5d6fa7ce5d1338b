import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { isSecretStoreError, SecretStoreErrorCode } from '../keyvault/errors.js';
import { formatSecretRef, secretNameSchema, type SecretRef } from '../keyvault/secret-ref.js';
import type { Logger } from '../observability/logger.js';
import { TriggerKind } from '../rotation/model.js';
import { z } from 'zod';
import { isListingLinkOf } from '../keyvault/listing-pages.js';
import { hasSecretPages } from '../keyvault/secret-store.js';
import type { Page, RotationSummary, SecretVersionInfo } from '../rotation/ports.js';
import { currentVersionOf } from '../sweep/current-version.js';
import { nextRotationOf } from '../sweep/due.js';
import type { PolicyReading, EntryServices } from '../entry/services.js';
import { API_DEADLINE_MS, isUnavailable, RETRY_AFTER_SECONDS, withinDeadline } from './deadline.js';
import { presentPolicy, presentRotation, presentRotationSummary } from './present.js';
import { problem, ProblemType } from './problem.js';
import { presentTiming } from './timing-view.js';
import {
  checkBody,
  checkParam,
  checkQuery,
  historyQuerySchema,
  instanceOf,
  readJsonBody,
  resolveVault,
  rotationIdSchema,
  secretsQuerySchema,
  startRotationBodySchema,
} from './requests.js';

/**
 * The operator API. Each handler validates its input, calls one capability and
 * maps the outcome to a status; nothing here reads a secret value, and the
 * records it returns hold references only (I5).
 */

const API_PREFIX = '/api';

function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

function apiUrl(request: HttpRequest, path: string): string {
  const origin = (() => {
    try {
      return new URL(request.url).origin;
    } catch {
      return '';
    }
  })();
  return `${origin}${API_PREFIX}/${path}`;
}

function rotationUrl(request: HttpRequest, id: string): string {
  return apiUrl(request, `rotations/${encodeURIComponent(id)}`);
}

/**
 * Storage, Key Vault or Service Bus down or too slow (nothing within
 * `API_DEADLINE_MS`) is a 503 problem with Retry-After; any other failure a
 * 500. Both are logged, with no internals in the body.
 */
export async function answering(request: HttpRequest, log: Logger, handle: () => Promise<HttpResponseInit>): Promise<HttpResponseInit> {
  try {
    return await withinDeadline(handle(), API_DEADLINE_MS);
  } catch (error) {
    if (isUnavailable(error)) {
      log.warn('request failed: a dependency is unavailable', { method: request.method, path: instanceOf(request), error });
      const response = problem(ProblemType.Unavailable, 503, `Storage, Key Vault or Service Bus did not answer in time; retry after ${RETRY_AFTER_SECONDS} seconds.`, {
        instance: instanceOf(request),
      });
      return { ...response, headers: { ...(response.headers as Record<string, string>), 'retry-after': String(RETRY_AFTER_SECONDS) } };
    }
    log.error('request failed', { method: request.method, path: instanceOf(request), error });
    return problem(ProblemType.Internal, 500, 'An internal error occurred; it has been logged. Retry later.', { instance: instanceOf(request) });
  }
}

/** `POST /api/rotations` `{ vault?, secret, dryRun?, reason? }`. */
export function handleStartRotation(request: HttpRequest, services: EntryServices): Promise<HttpResponseInit> {
  return answering(request, services.log, async () => {
    const raw = await readJsonBody(request);
    if (!raw.ok) return raw.response;
    const body = checkBody(request, startRotationBodySchema, raw.value);
    if (!body.ok) return body.response;
    const vault = resolveVault(request, body.value.vault, services.allowedVaults, 'body');
    if (!vault.ok) return vault.response;

    const secret: SecretRef = { vaultUrl: vault.value, name: body.value.secret };
    const instance = instanceOf(request);
    const result = await services.startRotation(
      secret,
      { kind: TriggerKind.Manual, ...(body.value.reason === undefined ? {} : { reason: body.value.reason }) },
      { dryRun: body.value.dryRun ?? false, ...(body.value.force === true ? { force: true } : {}) },
    );
    services.log.info('manual rotation requested', { secretRef: formatSecretRef(secret), outcome: result.outcome, dryRun: body.value.dryRun ?? false });

    switch (result.outcome) {
      case 'started':
      case 'duplicate': {
        const location = rotationUrl(request, result.rotationId);
        return json(202, { rotationId: result.rotationId, outcome: result.outcome, secret, location }, { location });
      }
      case 'dry-run':
        return json(200, { dryRun: true, report: result.report });
      case 'busy':
        return problem(ProblemType.RotationActive, 409, `Rotation ${result.activeRotationId} of ${formatSecretRef(secret)} is still active`, {
          instance,
          errors: [{ field: 'secret', in: 'body', pointer: '#/secret', detail: 'has an active rotation; poll it and try again once it ends' }],
          extensions: { activeRotationId: result.activeRotationId, activeRotation: rotationUrl(request, result.activeRotationId) },
        });
      case 'not-found':
        return problem(ProblemType.SecretNotFound, 404, `${formatSecretRef(secret)} does not exist`, {
          instance,
          errors: [{ field: 'secret', in: 'body', pointer: '#/secret', detail: `no secret of this name in ${secret.vaultUrl}` }],
        });
      case 'not-managed':
        return problem(ProblemType.NotManaged, 422, `${formatSecretRef(secret)} has no rotor-rotator tag, so Rotor does not rotate it`, {
          instance,
          errors: [{ field: 'secret', in: 'body', pointer: '#/secret', detail: 'has no Rotor policy (tag rotor-rotator)' }],
        });
      case 'invalid-policy':
        return problem(ProblemType.InvalidPolicy, 422, `The policy tags of ${formatSecretRef(secret)} are not valid: fix the tags named in errors`, {
          instance,
          errors: result.problems.map((p) => ({ field: p.tag, in: 'tag' as const, detail: p.message })),
        });
      case 'paused':
        return problem(ProblemType.SecretPaused, 409, `${formatSecretRef(secret)} is paused (rotor-paused=true): send "force": true to rotate it anyway`, {
          instance,
          errors: [{ field: 'force', in: 'body', pointer: '#/force', detail: 'must be true to rotate a paused secret' }],
        });
      case 'stale':
        return problem(ProblemType.StaleTrigger, 409, `The secret's latest version is ${result.latestVersion}: it was already rotated`, {
          instance,
          extensions: { latestVersion: result.latestVersion },
        });
    }
  });
}

/** `GET /api/rotations/{id}`. */
export function handleGetRotation(request: HttpRequest, services: EntryServices): Promise<HttpResponseInit> {
  return answering(request, services.log, async () => {
    const id = checkParam(request, 'id', rotationIdSchema);
    if (!id.ok) return id.response;
    const found = await services.ledger.getRotation(id.value);
    if (found === undefined) {
      return problem(ProblemType.RotationNotFound, 404, `No rotation has the id ${id.value}`, {
        instance: instanceOf(request),
        errors: [{ field: 'id', in: 'path', detail: 'no such rotation' }],
      });
    }
    const rotation = found.value;
    const history = apiUrl(request, `secrets/${encodeURIComponent(rotation.secret.name)}/rotations?vault=${encodeURIComponent(rotation.secret.vaultUrl)}`);
    return json(200, presentRotation(rotation, { self: rotationUrl(request, rotation.id), history }), { etag: found.etag });
  });
}

/** `GET /api/secrets/{name}/rotations?vault=&limit=&continuationToken=`: newest first, paged. */
export function handleListSecretRotations(request: HttpRequest, services: EntryServices): Promise<HttpResponseInit> {
  return answering(request, services.log, async () => {
    const name = checkParam(request, 'name', secretNameSchema);
    if (!name.ok) return name.response;
    const query = checkQuery(request, historyQuerySchema);
    if (!query.ok) return query.response;
    const vault = resolveVault(request, query.value.vault, services.allowedVaults, 'query');
    if (!vault.ok) return vault.response;

    const secret: SecretRef = { vaultUrl: vault.value, name: name.value };
    const limit = query.value.limit ?? 20;
    const page = await services.ledger.listRotations(secret, {
      limit,
      ...(query.value.continuationToken === undefined ? {} : { continuationToken: query.value.continuationToken }),
    });
    if (page.items.length === 0 && query.value.continuationToken === undefined && !(await secretExists(services, secret))) {
      return problem(ProblemType.SecretNotFound, 404, `${formatSecretRef(secret)} does not exist`, {
        instance: instanceOf(request),
        errors: [{ field: 'name', in: 'path', detail: `no secret of this name in ${secret.vaultUrl}, and no rotation of one` }],
      });
    }
    const items = page.items.map((item: RotationSummary) => presentRotationSummary(item, rotationUrl(request, item.id)));
    const next = page.continuationToken;
    const nextLink =
      next === undefined
        ? undefined
        : apiUrl(
            request,
            `secrets/${encodeURIComponent(secret.name)}/rotations?vault=${encodeURIComponent(secret.vaultUrl)}&limit=${limit}&continuationToken=${encodeURIComponent(next)}`,
          );
    return json(200, { secret, items, ...(nextLink === undefined ? {} : { nextLink }) });
  });
}

/** Whether the secret has any version (enabled or not); reads properties only, never a value. */
async function secretExists(services: EntryServices, secret: SecretRef): Promise<boolean> {
  try {
    for await (const _version of services.secrets.listVersions(secret)) return true;
    return false;
  } catch (error) {
    if (isSecretStoreError(error, SecretStoreErrorCode.NotFound)) return false;
    throw error;
  }
}

/**
 * `GET /api/secrets?vault=&limit=&continuationToken=`: the managed secrets, a
 * page at a time, with policy, current version, expiry, last rotation, next
 * due. A page is one Key Vault listing call (at most 25 secrets, unmanaged
 * ones left out) plus, for each managed one, a read of its latest version and
 * two ledger reads, in parallel: the cost of a page does not grow with the vault.
 */
export function handleListSecrets(request: HttpRequest, services: EntryServices): Promise<HttpResponseInit> {
  return answering(request, services.log, async () => {
    const query = checkQuery(request, secretsQuerySchema);
    if (!query.ok) return query.response;
    let vaults = services.allowedVaults;
    if (query.value.vault !== undefined) {
      const vault = resolveVault(request, query.value.vault, services.allowedVaults, 'query');
      if (!vault.ok) return vault.response;
      vaults = [vault.value];
    }
    const limit = query.value.limit ?? SECRETS_PAGE_LIMIT;
    const position = query.value.continuationToken === undefined ? { vault: vaults[0] } : readListingToken(query.value.continuationToken, vaults);
    const followable = position?.cursor === undefined || position.vault === undefined || !hasSecretPages(services.secrets) || isListingLinkOf(position.vault, position.cursor);
    if (position === undefined || !followable) {
      return problem(ProblemType.InvalidRequest, 400, 'The continuation token is not one this listing gave', {
        instance: instanceOf(request),
        errors: [{ field: 'continuationToken', in: 'query', detail: 'is not a token from a previous page of this listing' }],
      });
    }
    if (position.vault === undefined) return json(200, { items: [] });

    const page = await pageOfVault(services, position.vault, position.cursor, limit);
    const listed = page.items.flatMap((info) => {
      const reading = services.readPolicy(info.tags);
      return reading.kind === 'unmanaged' ? [] : [{ info, reading }];
    });
    const items = await Promise.all(listed.map(({ info, reading }) => presentListedSecret(request, services, info, reading)));
    const following = vaults[vaults.indexOf(position.vault) + 1];
    const next = page.continuationToken !== undefined ? { vault: position.vault, cursor: page.continuationToken } : following === undefined ? undefined : { vault: following };
    const params = `${query.value.vault === undefined ? '' : `vault=${encodeURIComponent(query.value.vault)}&`}limit=${limit}`;
    const nextLink = next === undefined ? undefined : apiUrl(request, `secrets?${params}&continuationToken=${encodeURIComponent(writeListingToken(next))}`);
    return json(200, { items, ...(nextLink === undefined ? {} : { nextLink }) });
  });
}

/** Secrets listed per page unless `limit` says fewer: Key Vault's own page size. */
const SECRETS_PAGE_LIMIT = 25;

interface ListingPosition {
  readonly vault: string;
  /** Key Vault's next link (or, for a store that cannot page, how many to skip). */
  readonly cursor?: string;
}

const listingTokenSchema = z.object({ vault: z.string(), cursor: z.string().optional() });

function writeListingToken(position: ListingPosition): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** The position a token names, if it names one of these vaults. */
function readListingToken(token: string, vaults: readonly string[]): { vault?: string; cursor?: string } | undefined {
  try {
    const parsed = listingTokenSchema.safeParse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')));
    if (!parsed.success || !vaults.includes(parsed.data.vault)) return undefined;
    return parsed.data;
  } catch {
    return undefined;
  }
}

async function pageOfVault(services: EntryServices, vaultUrl: string, cursor: string | undefined, limit: number): Promise<Page<SecretVersionInfo>> {
  if (hasSecretPages(services.secrets)) {
    return services.secrets.listSecretsPage(vaultUrl, { limit, ...(cursor === undefined ? {} : { continuationToken: cursor }) });
  }
  // A store that cannot page (test fakes): skip what earlier pages showed.
  const skip = Number(cursor ?? '0');
  const items: SecretVersionInfo[] = [];
  let seen = 0;
  for await (const info of services.secrets.listSecrets(vaultUrl)) {
    seen += 1;
    if (seen <= skip) continue;
    if (items.length === limit) return { items, continuationToken: String(skip + limit) };
    items.push(info);
  }
  return { items };
}

async function presentListedSecret(
  request: HttpRequest,
  services: EntryServices,
  info: SecretVersionInfo,
  reading: Exclude<PolicyReading, { kind: 'unmanaged' }>,
): Promise<unknown> {
  const [active, history, currentVersion] = await Promise.all([
    services.ledger.activeRotation(info.secret),
    services.ledger.listRotations(info.secret, { limit: 1 }),
    currentVersionOf(services.secrets, info),
  ]);
  const last = history.items[0];
  const next = nextRotationOf(info, reading, services.expiryHorizonMs, services.clock.now());
  return {
    vaultUrl: info.secret.vaultUrl,
    name: info.secret.name,
    ...(currentVersion === undefined ? {} : { currentVersion }),
    enabled: info.enabled,
    ...(info.expiresOn === undefined ? {} : { expiresOn: info.expiresOn.toISOString() }),
    ...(info.updatedOn === undefined ? {} : { updatedOn: info.updatedOn.toISOString() }),
    policy: presentPolicy(reading),
    ...(active === undefined ? {} : { activeRotationId: active, activeRotation: rotationUrl(request, active) }),
    ...(last === undefined
      ? {}
      : { lastRotation: { id: last.id, status: last.status, createdAt: last.createdAt, ...(last.endedAt === undefined ? {} : { endedAt: last.endedAt }), location: rotationUrl(request, last.id) } }),
    ...presentTiming(next, reading),
  };
}
