import type { ApiProblemError } from './errors.js';
import type { DryRunView, HistoryItem, RotationView, SecretItem } from './wire.js';

/**
 * Human output. Everything here turns API records into lines; nothing reads
 * the network or the clock (the caller passes `now`), so the tests can pin
 * every character.
 */

export interface Style {
  readonly color: boolean;
  readonly now: Date;
}

const ANSI = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;
type Tint = keyof typeof ANSI;

function paint(style: Style, tint: Tint, text: string): string {
  return style.color ? `\u001b[${ANSI[tint]}m${text}\u001b[0m` : text;
}

const statusTint: Record<string, Tint> = {
  Completed: 'green',
  Running: 'cyan',
  RollingBack: 'yellow',
  Skipped: 'yellow',
  RolledBack: 'red',
  Failed: 'red',
  Aborted: 'red',
  Cancelled: 'yellow',
};

export function paintStatus(style: Style, status: string): string {
  return paint(style, statusTint[status] ?? 'bold', status);
}

// ---- time ------------------------------------------------------------------

/** `2026-11-22 10:50:01Z`: UTC, to the second, sortable. */
export function absoluteTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** `3m ago`, `in 2d`, `just now`. */
export function relativeTime(iso: string, now: Date): string {
  const at = new Date(iso).getTime();
  if (Number.isNaN(at)) return '?';
  const delta = at - now.getTime();
  if (Math.abs(delta) < 1000) return 'just now';
  const span = shortDuration(Math.abs(delta));
  return delta < 0 ? `${span} ago` : `in ${span}`;
}

/** Largest whole unit: `450ms`, `12s`, `4m`, `3h`, `2d`. */
export function shortDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

function when(iso: string, style: Style): string {
  return `${absoluteTime(iso)} (${relativeTime(iso, style.now)})`;
}

function elapsed(fromIso: string, toIso: string): string {
  const ms = new Date(toIso).getTime() - new Date(fromIso).getTime();
  return Number.isNaN(ms) || ms < 0 ? '-' : shortDuration(ms);
}

// ---- tables ----------------------------------------------------------------

interface Cell {
  readonly text: string;
  readonly tint?: Tint;
}

/** Columns padded to the widest plain text; padding stays outside the colour codes so they never skew alignment. */
export function table(style: Style, headers: readonly string[], rows: readonly (readonly (string | Cell)[])[]): string[] {
  const cells = rows.map((row) => row.map((c) => (typeof c === 'string' ? { text: c } : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]?.text.length ?? 0)));
  const line = (row: readonly Cell[]): string =>
    row
      .map((cell, i) => {
        const text = cell.tint === undefined ? cell.text : paint(style, cell.tint, cell.text);
        return i === row.length - 1 ? text : text + ' '.repeat(Math.max(0, (widths[i] ?? 0) - cell.text.length));
      })
      .join('  ')
      .trimEnd();
  return [paint(style, 'dim', line(headers.map((text) => ({ text })))), ...cells.map(line)];
}

function statusCell(status: string): Cell {
  return { text: status, tint: statusTint[status] ?? 'bold' };
}

/** Key Vault version ids are 32 hex characters; 8 tell them apart in a table. */
function shortVersion(version: string): string {
  return version.length > 8 ? version.slice(0, 8) : version;
}

// ---- commands ----------------------------------------------------------------

export function renderRotation(rotation: RotationView, style: Style): string[] {
  const lines: string[] = [];
  const field = (label: string, value: string): void => {
    lines.push(`${paint(style, 'dim', label.padEnd(10))}${value}`);
  };
  field('Rotation', rotation.id);
  field('Secret', `${rotation.secret.name} in ${rotation.secret.vaultUrl}`);
  const ended = rotation.endedAt !== undefined;
  const where = ended
    ? `ended at ${rotation.step}`
    : `step ${rotation.step}${(rotation.attempt ?? 1) > 1 ? `, attempt ${rotation.attempt}` : ''}${
        rotation.notBefore !== undefined && new Date(rotation.notBefore) > style.now ? `, due ${relativeTime(rotation.notBefore, style.now)}` : ''
      }`;
  field('Status', `${paintStatus(style, rotation.status)}${rotation.dryRun === true ? ' (dry run)' : ''}  ${where}`);
  field('Rotator', `${rotation.rotator} (${rotation.strategy})`);
  const asked = rotation.trigger.reason === undefined ? rotation.trigger.kind : `${rotation.trigger.kind}: ${rotation.trigger.reason}`;
  field('Trigger', asked);
  field('Started', when(rotation.createdAt, style));
  if (rotation.endedAt !== undefined) field('Ended', `${when(rotation.endedAt, style)}, took ${elapsed(rotation.createdAt, rotation.endedAt)}`);
  else if (rotation.deadline !== undefined) field('Deadline', when(rotation.deadline, style));
  const versions = (['previous', 'pending', 'promoted', 'restored'] as const)
    .map((k) => (rotation.versions[k] === undefined ? undefined : `${k.padEnd(10)}${rotation.versions[k]}`))
    .filter((v): v is string => v !== undefined);
  // One version per line: 32-character ids side by side wrap on any terminal.
  versions.forEach((v, i) => field(i === 0 ? 'Versions' : '', v));
  if (versions.length === 0) field('Versions', '-');
  if (rotation.slots?.previous !== undefined || rotation.slots?.next !== undefined) {
    field('Slots', `${rotation.slots.previous ?? '-'} -> ${rotation.slots.next ?? '-'}`);
  }
  if (rotation.reason !== undefined) field('Reason', rotation.reason);
  if (rotation.steps.length > 0) {
    lines.push('');
    lines.push(
      ...table(
        style,
        ['STEP', 'TRY', 'OUTCOME', 'STARTED', 'TOOK', 'DETAIL'],
        rotation.steps.map((s) => [
          s.step,
          String(s.attempt),
          { text: s.outcome, tint: s.outcome === 'succeeded' ? 'green' : s.outcome === 'failed' ? 'red' : 'yellow' },
          `${absoluteTime(s.startedAt).slice(11)} (${relativeTime(s.startedAt, style.now)})`,
          elapsed(s.startedAt, s.endedAt),
          [s.detail, s.error === undefined ? undefined : `${s.error.code}: ${s.error.message}`].filter((t) => t !== undefined).join('; '),
        ]),
      ),
    );
  }
  return lines;
}

export function renderHistory(items: readonly HistoryItem[], style: Style): string[] {
  return table(
    style,
    ['ROTATION', 'STATUS', 'STEP', 'TRIGGER', 'STARTED', 'TOOK', 'REASON'],
    items.map((item) => [
      item.id,
      statusCell(item.status),
      item.step,
      item.trigger.kind,
      `${absoluteTime(item.createdAt)} (${relativeTime(item.createdAt, style.now)})`,
      item.endedAt === undefined ? '-' : elapsed(item.createdAt, item.endedAt),
      item.reason ?? item.trigger.reason ?? '',
    ]),
  );
}

export function renderSecrets(items: readonly SecretItem[], style: Style): string[] {
  const vaults = new Set(items.map((i) => i.vaultUrl));
  const withVault = vaults.size > 1;
  const headers = [...(withVault ? ['VAULT'] : []), 'SECRET', 'ROTATOR', 'STRATEGY', 'VERSION', 'EXPIRES', 'NEXT DUE', 'LAST ROTATION'];
  const rows = items.map((item) => {
    const rotator: Cell = item.policy.valid
      ? { text: item.policy.rotator ?? '?' }
      : { text: `invalid${item.policy.rotator === undefined ? '' : ` (${item.policy.rotator})`}`, tint: 'red' };
    const last: Cell =
      item.activeRotationId !== undefined
        ? { text: `active ${item.activeRotationId}`, tint: 'cyan' }
        : item.lastRotation === undefined
          ? { text: 'never' }
          : {
              text: `${item.lastRotation.status} ${relativeTime(item.lastRotation.endedAt ?? item.lastRotation.createdAt, style.now)}`,
              tint: statusTint[item.lastRotation.status] ?? 'bold',
            };
    return [
      ...(withVault ? [item.vaultUrl] : []),
      item.enabled ? item.name : `${item.name} (disabled)`,
      rotator,
      item.policy.strategy ?? '-',
      shortVersion(item.currentVersion),
      item.expiresOn === undefined ? '-' : `${absoluteTime(item.expiresOn).slice(0, 10)} (${relativeTime(item.expiresOn, style.now)})`,
      item.paused === true ? ({ text: 'paused', tint: 'yellow' } satisfies Cell) : item.nextDue === undefined ? '-' : `${relativeTime(item.nextDue, style.now)}${item.deferredByWindow === true ? ' (window)' : ''}`,
      last,
    ];
  });
  return table(style, headers, rows);
}

export function renderDryRun(view: DryRunView, style: Style): string[] {
  const r = view.report;
  const verdict = r.wouldRotate ? paint(style, 'green', 'would rotate') : paint(style, 'yellow', 'would not rotate');
  return [
    `Dry run for ${r.secret.name} in ${r.secret.vaultUrl}: ${verdict}`,
    `  ${r.summary}`,
    `  rotator ${r.rotator} (${r.strategy}), current version ${r.currentVersion}`,
    ...r.checks.map((c) => `  ${c.ok ? paint(style, 'green', 'ok  ') : paint(style, 'red', 'FAIL')} ${c.name}${c.detail === undefined ? '' : `: ${c.detail}`}`),
  ];
}

/** The problem's title, its detail when it adds something, and one line per bad field. */
export function renderProblem(problem: ApiProblemError): string[] {
  // A body that was not problem+json already has the status line as its title.
  const lines = [problem.title.startsWith('HTTP ') ? `error: ${problem.title}` : `error: ${problem.title} (HTTP ${problem.status})`];
  if (problem.detail !== undefined && problem.detail !== problem.title) lines.push(`  ${problem.detail}`);
  for (const f of problem.fields) lines.push(`  ${f.field} (${f.in}): ${f.detail}`);
  return lines;
}
