import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EmulatorClock } from './clock.js';
import type { CallCounters } from './counters.js';
import { badParameter, isVaultError, VaultError, vaultErrorCodes, vaultInnerErrorCodes } from './errors.js';
import type { FaultInjector } from './faults.js';
import { secretLimits } from './model.js';
import { operationTraits, type VaultOperation } from './operations.js';
import { parseBody, restoreSecretBody, setSecretBody, updateSecretBody, checkSecretName } from './requests.js';
import { emulatorRoles, roleAllows, roleOfToken, type EmulatorRole } from './roles.js';
import { matchRoute, type VaultRoute } from './routes.js';
import type { VaultThrottle } from './throttle.js';
import type { PageRequest, Page, SecretVault } from './vault.js';

export interface VaultHttpDeps {
  readonly vault: SecretVault;
  readonly clock: EmulatorClock;
  readonly throttle: VaultThrottle;
  readonly faults: FaultInjector;
  readonly counters: CallCounters;
  readonly vaultUrl: () => string;
  readonly tenantId: string;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** Serves Key Vault's secrets REST API the way `SecretClient` meets it in Azure. */
export function createVaultRequestHandler(deps: VaultHttpDeps): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const challenge = `Bearer authorization="https://login.microsoftonline.com/${deps.tenantId}", resource="https://vault.azure.net"`;

  return async (req, res, url) => {
    const requestId = randomUUID();
    const send = (answer: Answer): void => write(res, requestId, req.headers['x-ms-client-request-id'], answer);

    // The SDK's first request carries no token and no body; the 401 tells it where to get a token.
    const role = authenticate(req.headers.authorization);
    if (role === 'none' || role === 'unknown') {
      deps.counters.challenge();
      req.resume();
      const message =
        role === 'none'
          ? 'AKV10000: Request is missing a Bearer or PoP token.'
          : `AKV10022: Invalid token: the emulator knows the roles ${Object.values(emulatorRoles).join(', ')} (token rotor-emulator.<role>).`;
      send({
        status: 401,
        headers: { 'www-authenticate': challenge },
        body: new VaultError(401, vaultErrorCodes.Unauthorized, message).toBody(),
      });
      return;
    }

    let route: VaultRoute;
    let body: string;
    try {
      route = matchRoute(req.method ?? 'GET', url.pathname);
      body = await readBody(req);
      if (!url.searchParams.get('api-version')) throw badParameter("The 'api-version' query parameter is missing.");
    } catch (error) {
      req.resume();
      send(answerForError(error));
      return;
    }

    const operation = route.operation;
    deps.counters.call(operation);
    const fault = deps.faults.decide(operation);
    if (fault.latencyMs > 0 || fault.failure !== undefined) deps.counters.faulted(operation);
    if (fault.latencyMs > 0) await sleep(fault.latencyMs);
    if (fault.failure?.kind === 'reset') {
      deps.counters.answered(operation, 0);
      req.socket.destroy();
      return;
    }
    let answer: Answer;
    if (fault.failure?.kind === 'status') {
      answer = injectedFailure(fault.failure.status, fault.failure.retryAfterSeconds);
    } else if (!deps.throttle.admit(operationTraits[operation].bucket, deps.clock.nowMs())) {
      answer = throttled();
    } else if (!roleAllows(role, operation)) {
      answer = forbidden(role, operation, route.name);
    } else {
      try {
        answer = execute(deps, route, body, url);
      } catch (error) {
        answer = answerForError(error);
      }
    }
    deps.counters.answered(operation, answer.status);
    send(answer);
  };
}

function authenticate(header: string | undefined): EmulatorRole | 'none' | 'unknown' {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (match?.[1] === undefined) return 'none';
  return roleOfToken(match[1]) ?? 'unknown';
}

function execute(deps: VaultHttpDeps, route: VaultRoute, body: string, url: URL): Answer {
  const { vault } = deps;
  const name = route.name ?? '';
  if (route.name !== undefined) {
    const invalid = checkSecretName(route.name);
    if (invalid !== undefined) throw invalid;
  }
  const ok = (value: unknown): Answer => ({ status: 200, body: value });
  const page = <T>(result: Page<T>, path: string): Answer => ok(toWirePage(deps.vaultUrl(), path, url, result));
  switch (route.operation) {
    case 'set':
      return ok(vault.setSecret(name, parseBody(setSecretBody, body)));
    case 'get':
      return ok(vault.getSecret(name, route.version));
    case 'list':
      return page(vault.listSecrets(pageRequest(url)), '/secrets');
    case 'listVersions':
      return page(vault.listSecretVersions(name, pageRequest(url)), `/secrets/${encodeURIComponent(name)}/versions`);
    case 'update':
      return ok(vault.updateSecret(name, route.version, parseBody(updateSecretBody, body)));
    case 'delete':
      return ok(vault.deleteSecret(name));
    case 'getDeleted':
      return ok(vault.getDeletedSecret(name));
    case 'listDeleted':
      return page(vault.listDeletedSecrets(pageRequest(url)), '/deletedsecrets');
    case 'recover':
      return ok(vault.recoverDeletedSecret(name));
    case 'purge':
      vault.purgeDeletedSecret(name);
      return { status: 204 };
    case 'backup':
      return ok(vault.backupSecret(name));
    case 'restore':
      return ok(vault.restoreSecret(parseBody(restoreSecretBody, body).value));
  }
}

/** `maxresults` (1-25, Key Vault's page size limit) and the `$skiptoken` of a nextLink. */
function pageRequest(url: URL): PageRequest {
  const rawMax = url.searchParams.get('maxresults');
  let maxResults: number = secretLimits.maxPageSize;
  if (rawMax !== null) {
    maxResults = Number(rawMax);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > secretLimits.maxPageSize) {
      throw badParameter(`Invalid value for 'maxresults': ${rawMax.slice(0, 20)}. It must be an integer from 1 to ${secretLimits.maxPageSize}.`);
    }
  }
  const token = url.searchParams.get('$skiptoken');
  if (token === null) return { maxResults };
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after !== 'string') throw new Error('no marker');
    return { maxResults, after: parsed.after };
  } catch {
    throw badParameter("Invalid value for '$skiptoken'.");
  }
}

/** A page as Key Vault sends it: `nextLink` is absolute and repeats api-version and maxresults. */
function toWirePage<T>(vaultUrl: string, path: string, requestUrl: URL, page: Page<T>): { value: T[]; nextLink: string | null } {
  if (page.nextAfter === undefined) return { value: page.items, nextLink: null };
  const next = new URL(`${vaultUrl}${path}`);
  next.searchParams.set('api-version', requestUrl.searchParams.get('api-version') ?? '');
  next.searchParams.set('$skiptoken', Buffer.from(JSON.stringify({ after: page.nextAfter })).toString('base64url'));
  const maxResults = requestUrl.searchParams.get('maxresults');
  if (maxResults !== null) next.searchParams.set('maxresults', maxResults);
  return { value: page.items, nextLink: next.toString() };
}

function throttled(): Answer {
  // Key Vault's real answer: no Retry-After header, the reason in the message.
  return {
    status: 429,
    body: new VaultError(
      429,
      vaultErrorCodes.Throttled,
      'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached',
    ).toBody(),
  };
}

function injectedFailure(status: 429 | 500 | 503, retryAfterSeconds: number | undefined): Answer {
  const headers = retryAfterSeconds === undefined ? undefined : { 'retry-after': String(retryAfterSeconds) };
  if (status === 429) return { ...throttled(), ...(headers ? { headers } : {}) };
  const error =
    status === 500
      ? new VaultError(500, vaultErrorCodes.InternalServerError, 'An internal server error occurred (injected by the emulator).')
      : new VaultError(503, vaultErrorCodes.ServiceUnavailable, 'The service is temporarily unavailable (injected by the emulator).');
  return { status, body: error.toBody(), ...(headers ? { headers } : {}) };
}

function forbidden(role: EmulatorRole, operation: VaultOperation, name: string | undefined): Answer {
  const action = operationTraits[operation].dataAction;
  const message = [
    'Caller is not authorized to perform action on resource.',
    `Caller: rotor-emulator role=${role}`,
    `Action: '${action}'`,
    `Resource: 'secrets/${name ?? ''}'`,
    'Assignment: (not found)',
  ].join('\r\n');
  return {
    status: 403,
    body: new VaultError(403, vaultErrorCodes.Forbidden, message, vaultInnerErrorCodes.ForbiddenByRbac).toBody(),
  };
}

function answerForError(error: unknown): Answer {
  if (isVaultError(error)) return { status: error.status, body: error.toBody() };
  // A bug in the emulator: answer like a server fault, never with request data.
  console.error(`[keyvault-emulator] internal error: ${error instanceof Error ? error.message : 'unknown'}`);
  return {
    status: 500,
    body: new VaultError(500, vaultErrorCodes.InternalServerError, 'The emulator failed to process the request.').toBody(),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) {
      throw new VaultError(413, vaultErrorCodes.RequestTooLarge, `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function write(res: ServerResponse, requestId: string, clientRequestId: string | string[] | undefined, answer: Answer): void {
  if (res.destroyed || res.headersSent) return;
  const headers: Record<string, string> = {
    'cache-control': 'no-cache',
    'x-ms-request-id': requestId,
    'x-ms-keyvault-region': 'local',
    'x-ms-keyvault-service-version': 'rotor-emulator',
    ...(typeof clientRequestId === 'string' ? { 'x-ms-client-request-id': clientRequestId } : {}),
    ...answer.headers,
  };
  if (answer.body === undefined) {
    res.writeHead(answer.status, headers).end();
    return;
  }
  const payload = JSON.stringify(answer.body);
  res
    .writeHead(answer.status, {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(payload)),
    })
    .end(payload);
}
