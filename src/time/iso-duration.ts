/**
 * ISO-8601 durations as Rotor's policies and settings write them (`P90D`,
 * `PT15M`, `P1DT12H`, `P2W`). Years and months have no fixed length; they are
 * read as 365 and 30 days, which is what an operator writing `P1Y` for a
 * credential's validity means, and the result is documented wherever shown.
 */
const PATTERN =
  /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?!$)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Milliseconds in `text`, or `undefined` when it is not an ISO-8601 duration. */
export function parseIsoDuration(text: string): number | undefined {
  const match = PATTERN.exec(text.trim().toUpperCase());
  if (!match) return undefined;
  const [, years, months, weeks, days, hours, minutes, seconds] = match;
  const n = (part: string | undefined): number => (part === undefined ? 0 : Number(part));
  return (
    n(years) * 365 * DAY +
    n(months) * 30 * DAY +
    n(weeks) * 7 * DAY +
    n(days) * DAY +
    n(hours) * HOUR +
    n(minutes) * MINUTE +
    Math.round(n(seconds) * SECOND)
  );
}

export const durations = { SECOND, MINUTE, HOUR, DAY } as const;
