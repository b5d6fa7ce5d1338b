/**
 * Six-field NCRONTAB (`{second} {minute} {hour} {day} {month} {day-of-week}`),
 * as the Functions timer trigger reads it: `*`, numbers, ranges `a-b`, lists
 * `a,b`, steps `*\/n` and `a-b/n`, month and day names (`Jan`, `Mon`),
 * day-of-week 0-6 with Sunday 0 (7 accepted too). Times are UTC, as in Azure
 * unless WEBSITE_TIME_ZONE is set.
 */

export class NcrontabError extends Error {
  override readonly name = 'NcrontabError';
}

export interface NcrontabSchedule {
  readonly expression: string;
  /** The first occurrence strictly after `after`. */
  next(after: Date): Date;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Offset added to a name's index (months are 1-based). */
  readonly nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day-of-week', min: 0, max: 7, names: DAYS, nameBase: 0 },
];

function value(text: string, spec: FieldSpec): number {
  const upper = text.toUpperCase();
  const named = spec.names?.findIndex((n) => upper.startsWith(n) && upper.length <= 9) ?? -1;
  const n = named >= 0 && !/^\d+$/.test(text) ? named + (spec.nameBase ?? 0) : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < spec.min || n > spec.max) {
    throw new NcrontabError(`${spec.name} "${text}" must be ${spec.min}-${spec.max}${spec.names ? ' or a name' : ''}`);
  }
  return n;
}

function parseField(text: string, spec: FieldSpec): ReadonlySet<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1 || (stepText !== undefined && !/^\d+$/.test(stepText))) {
      throw new NcrontabError(`${spec.name} step "${stepText ?? ''}" must be a positive whole number`);
    }
    let low: number;
    let high: number;
    if (range === '*') {
      low = spec.min;
      high = spec.name === 'day-of-week' ? 6 : spec.max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      low = value(a, spec);
      high = value(b, spec);
      if (low > high) throw new NcrontabError(`${spec.name} range "${range}" runs backwards`);
    } else {
      low = value(range, spec);
      high = stepText === undefined ? low : spec.max;
    }
    for (let v = low; v <= high; v += step) out.add(spec.name === 'day-of-week' && v === 7 ? 0 : v);
  }
  return out;
}

export function parseNcrontab(expression: string): NcrontabSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new NcrontabError(`"${expression}" must have six fields: {second} {minute} {hour} {day} {month} {day-of-week}`);
  }
  const [seconds, minutes, hours, days, months, weekdays] = parts.map((p, i) => parseField(p, FIELDS[i]!)) as [
    ReadonlySet<number>,
    ReadonlySet<number>,
    ReadonlySet<number>,
    ReadonlySet<number>,
    ReadonlySet<number>,
    ReadonlySet<number>,
  ];
  const anyDay = parts[3] === '*';
  const anyWeekday = parts[5] === '*';
  // As in cron: when both day fields are restricted, either may match.
  const dayMatches = (d: Date): boolean => {
    const dom = days.has(d.getUTCDate());
    const dow = weekdays.has(d.getUTCDay());
    if (anyDay) return dow;
    if (anyWeekday) return dom;
    return dom || dow;
  };

  return {
    expression,
    next(after) {
      const t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
      // Bounded: five years of searching covers every satisfiable expression (Feb 29 included).
      const limit = after.getTime() + 5 * 366 * 86_400_000;
      while (t.getTime() <= limit) {
        if (!months.has(t.getUTCMonth() + 1)) {
          t.setUTCMonth(t.getUTCMonth() + 1, 1);
          t.setUTCHours(0, 0, 0, 0);
          continue;
        }
        if (!dayMatches(t)) {
          t.setUTCDate(t.getUTCDate() + 1);
          t.setUTCHours(0, 0, 0, 0);
          continue;
        }
        if (!hours.has(t.getUTCHours())) {
          t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
          continue;
        }
        if (!minutes.has(t.getUTCMinutes())) {
          t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
          continue;
        }
        if (!seconds.has(t.getUTCSeconds())) {
          t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
          continue;
        }
        return new Date(t.getTime());
      }
      throw new NcrontabError(`"${expression}" never occurs`);
    },
  };
}
