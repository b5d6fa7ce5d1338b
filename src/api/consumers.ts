import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import { parseConsumerEntry, parseConsumersTag, formatConsumerEntry, mergeConsumers, MAX_ENTRY_CHARS, type ConsumerEntry } from '../consumers/entries.js';
import { ConsumerTag } from '../consumers/policy.js';
import { MAX_REGISTERED_CONSUMERS, type ConsumerRegistry, type RegisteredConsumers } from '../consumers/registry.js';
import { formatSecretRef, secretNameSchema, vaultUrlSchema, type SecretRef } from '../keyvault/secret-ref.js';
import { isLedgerConflictError } from '../ledger/errors.js';
import type { Logger } from '../observability/logger.js';
import type { SecretStore } from '../rotation/ports.js';
import { problem, ProblemType, type ProblemField } from './problem.js';
import { checkBody, checkParam, checkQuery, instanceOf, readJsonBody, resolveVault } from './requests.js';

/**
 * `GET/PUT/DELETE /api/secrets/{name}/consumers?vault=`: the consumer
 * registry of a secret. GET also shows the consumers its `rotor-consumers`
 * tag declares, and the union Rotor nudges. PUT and DELETE honour `If-Match`
 * (the ETag GET answered), so two operators editing at once do not lose an
 * entry. Entries are resource ids and URLs; no value is read or shown.
 */
export interface ConsumerApiServices {
  readonly allowedVaults: readonly string[];
  readonly registry: ConsumerRegistry;
  /** Reads the latest version's tags for the `rotor-consumers` part of GET. */
  readonly secrets: Pick<SecretStore, 'getLatest'>;
  readonly log: Logger;
}

const consumersQuerySchema = z.object({ vault: z.string().max(2048, 'is too long').pipe(vaultUrlSchema).optional() });

export const putConsumersBodySchema = z.strictObject({
  consumers: z
    .array(z.string({ error: 'must be a consumer entry string' }).max(MAX_ENTRY_CHARS, `must be at most ${MAX_ENTRY_CHARS} characters`), {
      error: 'is required: a list of consumer entries (appservice:<resource id>, containerapp:<resource id> or https:// URLs)',
    })
    .max(MAX_REGISTERED_CONSUMERS, `must hold at most ${MAX_REGISTERED_CONSUMERS} entries`),
});

function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

async function answering(request: HttpRequest, log: Logger, handle: () => Promise<HttpResponseInit>): Promise<HttpResponseInit> {
  try {
    return await handle();
  } catch (error) {
    if (isLedgerConflictError(error)) {
      return problem(ProblemType.PreconditionFailed, 412, 'The consumer list changed since it was read: GET it again and retry', {
        instance: instanceOf(request),
        errors: [{ field: 'if-match', in: 'header', detail: 'does not match the current ETag' }],
      });
    }
    log.error('request failed', { method: request.method, path: instanceOf(request), error });
    return problem(ProblemType.Internal, 500, 'An internal error occurred; it has been logged. Retry later.', { instance: instanceOf(request) });
  }
}

type Target = { readonly ok: true; readonly secret: SecretRef } | { readonly ok: false; readonly response: HttpResponseInit };

function targetOf(request: HttpRequest, services: ConsumerApiServices): Target {
  const name = checkParam(request, 'name', secretNameSchema);
  if (!name.ok) return name;
  const query = checkQuery(request, consumersQuerySchema);
  if (!query.ok) return query;
  const resolved = resolveVault(request, query.value.vault, services.allowedVaults, 'query');
  if (!resolved.ok) return resolved;
  return { ok: true, secret: { vaultUrl: resolved.value, name: name.value } };
}

function present(request: HttpRequest, secret: SecretRef, registered: RegisteredConsumers | undefined, tagText: string | undefined, secretExists: boolean): unknown {
  const tag = tagText === undefined ? undefined : parseConsumersTag(tagText);
  const tagEntries: readonly ConsumerEntry[] = tag !== undefined && 'entries' in tag ? tag.entries : [];
  const registeredEntries = registered?.entries ?? [];
  const registeredKeys = new Set(registeredEntries.map(formatConsumerEntry));
  const tagKeys = new Set(tagEntries.map(formatConsumerEntry));
  return {
    secret,
    ...(secretExists ? {} : { secretExists: false }),
    tag: {
      name: ConsumerTag.Consumers,
      entries: tagEntries.map(formatConsumerEntry),
      ...(tag !== undefined && 'problems' in tag ? { problems: tag.problems } : {}),
    },
    registered: registered === undefined ? null : { entries: registeredEntries.map(formatConsumerEntry), updatedAt: registered.updatedAt },
    consumers: mergeConsumers(tagEntries, registeredEntries).map((entry) => {
      const text = formatConsumerEntry(entry);
      const sources = [...(tagKeys.has(text) ? ['tag'] : []), ...(registeredKeys.has(text) ? ['registry'] : [])];
      return { entry: text, kind: entry.kind, sources };
    }),
    links: { self: `${new URL(request.url).origin}${instanceOf(request)}?vault=${encodeURIComponent(secret.vaultUrl)}` },
  };
}

async function tagOf(services: ConsumerApiServices, secret: SecretRef): Promise<{ exists: boolean; text?: string }> {
  const read = await services.secrets.getLatest(secret);
  if (read.kind === 'missing') return { exists: false };
  // A disabled latest version shows no tags: the secret exists, its consumer tag is unreadable.
  if (read.kind === 'disabled') return { exists: true };
  const text = read.secret.tags[ConsumerTag.Consumers];
  return text === undefined ? { exists: true } : { exists: true, text };
}

function etagHeader(registered: RegisteredConsumers | undefined): Record<string, string> {
  return registered === undefined || registered.etag === '' ? {} : { etag: registered.etag };
}

/** `GET /api/secrets/{name}/consumers?vault=`. */
export function handleGetConsumers(request: HttpRequest, services: ConsumerApiServices): Promise<HttpResponseInit> {
  return answering(request, services.log, async () => {
    const target = targetOf(request, services);
    if (!target.ok) return target.response;
    const [registered, tag] = await Promise.all([services.registry.get(target.secret), tagOf(services, target.secret)]);
    return json(200, present(request, target.secret, registered, tag.text, tag.exists), etagHeader(registered));
  });
}

/** `PUT /api/secrets/{name}/consumers?vault=` `{ "consumers": [...] }`: replaces the registered list. */
export function handlePutConsumers(request: HttpRequest, services: ConsumerApiServices): Promise<HttpResponseInit> {
  return answering(request, services.log, async () => {
    const target = targetOf(request, services);
    if (!target.ok) return target.response;
    const raw = await readJsonBody(request);
    if (!raw.ok) return raw.response;
    const body = checkBody(request, putConsumersBodySchema, raw.value);
    if (!body.ok) return body.response;

    const entries: ConsumerEntry[] = [];
    const errors: ProblemField[] = [];
    body.value.consumers.forEach((text, index) => {
      const reading = parseConsumerEntry(text);
      if ('problem' in reading) errors.push({ field: `consumers.${index}`, in: 'body', pointer: `#/consumers/${index}`, detail: reading.problem });
      else entries.push(reading.entry);
    });
    if (errors.length > 0) {
      return problem(ProblemType.InvalidRequest, 400, 'Some consumer entries are not valid: fix the entries named in errors', { instance: instanceOf(request), errors });
    }
    const ifMatch = request.headers.get('if-match') ?? undefined;
    const saved = await services.registry.put(target.secret, mergeConsumers(entries), ifMatch === undefined ? {} : { ifMatch });
    services.log.info('consumers registered', { secretRef: formatSecretRef(target.secret), count: saved.entries.length });
    const tag = await tagOf(services, target.secret);
    return json(200, present(request, target.secret, saved, tag.text, tag.exists), etagHeader(saved));
  });
}

/** `DELETE /api/secrets/{name}/consumers?vault=`: forgets the registered list (the tag is untouched). */
export function handleDeleteConsumers(request: HttpRequest, services: ConsumerApiServices): Promise<HttpResponseInit> {
  return answering(request, services.log, async () => {
    const target = targetOf(request, services);
    if (!target.ok) return target.response;
    const ifMatch = request.headers.get('if-match') ?? undefined;
    const existed = await services.registry.delete(target.secret, ifMatch === undefined ? {} : { ifMatch });
    if (!existed) {
      return problem(ProblemType.ConsumersNotFound, 404, `${formatSecretRef(target.secret)} has no registered consumers`, {
        instance: instanceOf(request),
        errors: [{ field: 'name', in: 'path', detail: 'no consumer list is registered for this secret' }],
      });
    }
    services.log.info('consumers unregistered', { secretRef: formatSecretRef(target.secret) });
    return { status: 204 };
  });
}
