import { z } from 'zod';

/**
 * The API's answers as the CLI reads them. Loose objects: the CLI renders the
 * fields it knows and `--json` passes the whole body through, so a field the
 * API adds later is neither lost nor an error.
 */

const secretRef = z.looseObject({ vaultUrl: z.string(), name: z.string() });

const stepRecord = z.looseObject({
  step: z.string(),
  attempt: z.number(),
  startedAt: z.string(),
  endedAt: z.string(),
  outcome: z.string(),
  detail: z.string().optional(),
  error: z.looseObject({ code: z.string(), message: z.string() }).optional(),
});

const trigger = z.looseObject({ kind: z.string(), reason: z.string().optional(), eventType: z.string().optional() });

export const rotationSchema = z.looseObject({
  id: z.string(),
  secret: secretRef,
  trigger,
  rotator: z.string(),
  strategy: z.string(),
  status: z.string(),
  step: z.string(),
  attempt: z.number().optional(),
  notBefore: z.string().optional(),
  dryRun: z.boolean().optional(),
  createdAt: z.string(),
  updatedAt: z.string().optional(),
  deadline: z.string().optional(),
  endedAt: z.string().optional(),
  versions: z.looseObject({
    previous: z.string().optional(),
    promoted: z.string().optional(),
    restored: z.string().optional(),
    pending: z.string().optional(),
  }),
  slots: z.looseObject({ previous: z.string().optional(), next: z.string().optional() }).optional(),
  steps: z.array(stepRecord),
  reason: z.string().optional(),
});
export type RotationView = z.infer<typeof rotationSchema>;

export const startedSchema = z.looseObject({
  rotationId: z.string(),
  outcome: z.string(),
  secret: secretRef,
  location: z.string().optional(),
});
export type StartedView = z.infer<typeof startedSchema>;

export const dryRunSchema = z.looseObject({
  dryRun: z.literal(true),
  report: z.looseObject({
    secret: secretRef,
    currentVersion: z.string(),
    rotator: z.string(),
    strategy: z.string(),
    wouldRotate: z.boolean(),
    summary: z.string(),
    checks: z.array(z.looseObject({ name: z.string(), ok: z.boolean(), detail: z.string().optional() })),
  }),
});
export type DryRunView = z.infer<typeof dryRunSchema>;

export const historyPageSchema = z.looseObject({
  secret: secretRef,
  items: z.array(
    z.looseObject({
      id: z.string(),
      status: z.string(),
      step: z.string(),
      trigger,
      createdAt: z.string(),
      endedAt: z.string().optional(),
      reason: z.string().optional(),
    }),
  ),
  nextLink: z.string().optional(),
});
export type HistoryPage = z.infer<typeof historyPageSchema>;
export type HistoryItem = HistoryPage['items'][number];

export const secretsSchema = z.looseObject({
  items: z.array(
    z.looseObject({
      vaultUrl: z.string(),
      name: z.string(),
      currentVersion: z.string(),
      enabled: z.boolean(),
      expiresOn: z.string().optional(),
      policy: z.looseObject({ valid: z.boolean(), rotator: z.string().optional(), strategy: z.string().optional() }),
      activeRotationId: z.string().optional(),
      lastRotation: z
        .looseObject({ id: z.string(), status: z.string(), createdAt: z.string(), endedAt: z.string().optional() })
        .optional(),
      nextDue: z.string().optional(),
      paused: z.boolean().optional(),
      deferredByWindow: z.boolean().optional(),
    }),
  ),
});
export type SecretsView = z.infer<typeof secretsSchema>;
export type SecretItem = SecretsView['items'][number];

export const problemSchema = z.looseObject({
  title: z.string(),
  status: z.number().optional(),
  detail: z.string().optional(),
  errors: z.array(z.looseObject({ field: z.string(), in: z.string(), detail: z.string() })).optional(),
  activeRotationId: z.string().optional(),
});

/**
 * A rotation record carries the policy snapshot read at `begin`, raw tags
 * included, and health URLs that may hold a key in their query. A tag is
 * free text that someone may have pasted a value into, so `--json` prints the
 * record without `policy.tags` and with probe URLs cut to origin and path.
 * The API does the same since it presents rotations like `GET /api/secrets`;
 * this keeps an older API's answers from printing them.
 */
export function withoutPolicyInternals(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || !('policy' in raw)) return raw;
  const { policy, ...rest } = raw as { policy: unknown } & Record<string, unknown>;
  if (typeof policy !== 'object' || policy === null) return raw;
  const { tags: _tags, health, ...policyRest } = policy as { tags?: unknown; health?: unknown } & Record<string, unknown>;
  const probes = Array.isArray(health)
    ? health.map((probe: unknown) =>
        typeof probe === 'object' && probe !== null && 'url' in probe ? { ...probe, url: originAndPath(probe.url) } : probe,
      )
    : health;
  return { ...rest, policy: { ...policyRest, ...(probes === undefined ? {} : { health: probes }) } };
}

function originAndPath(url: unknown): string {
  try {
    const parsed = new URL(String(url));
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(not a URL)';
  }
}
