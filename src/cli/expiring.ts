import { z } from 'zod';
import { absoluteTime, relativeTime, table, type Style } from './render.js';

/** `GET /api/expiring` as the CLI reads it (loose: `--json` passes the body through). */
export const expiringSchema = z.looseObject({
  asOf: z.string(),
  within: z.string(),
  items: z.array(
    z.looseObject({
      kind: z.string(),
      expiresOn: z.string(),
      expired: z.boolean(),
      // secrets
      vaultUrl: z.string().optional(),
      name: z.string().optional(),
      managed: z.boolean().optional(),
      rotator: z.string().optional(),
      enabled: z.boolean().optional(),
      nextDue: z.string().optional(),
      // app registration credentials
      appId: z.string().optional(),
      appDisplayName: z.string().optional(),
      keyId: z.string().optional(),
      displayName: z.string().optional(),
    }),
  ),
  gaps: z.array(z.looseObject({ source: z.string(), detail: z.string() })).default([]),
});
export type ExpiringView = z.infer<typeof expiringSchema>;

const kindLabel: Record<string, string> = { secret: 'secret', 'app-password': 'client secret', 'app-certificate': 'certificate' };

/** One row per expiring object, soonest first, with who looks after it. */
export function renderExpiring(view: ExpiringView, style: Style): string[] {
  const rows = view.items.map((item) => {
    const what =
      item.kind === 'secret'
        ? `${item.name ?? '?'}${item.enabled === false ? ' (disabled)' : ''}`
        : `${item.appDisplayName ?? item.appId ?? '?'} / ${item.displayName ?? item.keyId ?? '?'}`;
    const where = item.kind === 'secret' ? new URL(item.vaultUrl ?? 'https://unknown').host : `app ${item.appId ?? '?'}`;
    const care =
      item.kind === 'secret'
        ? item.managed === true
          ? `Rotor (${item.rotator ?? '?'})${item.nextDue === undefined ? '' : `, due ${relativeTime(item.nextDue, style.now)}`}`
          : 'nobody: not managed'
        : 'watch only';
    return [
      { text: `${absoluteTime(item.expiresOn).slice(0, 16)}Z`, ...(item.expired ? { tint: 'red' as const } : {}) },
      { text: item.expired ? `expired ${relativeTime(item.expiresOn, style.now)}` : relativeTime(item.expiresOn, style.now), ...(item.expired ? { tint: 'red' as const } : {}) },
      kindLabel[item.kind] ?? item.kind,
      what,
      where,
      care,
    ];
  });
  return table(style, ['EXPIRES', 'WHEN', 'KIND', 'NAME', 'WHERE', 'ROTATED BY'], rows);
}
