import { z } from 'zod';
import type { PolicyProblem } from '../rotation/rotator.js';

export type TagReading<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly PolicyProblem[] };

/**
 * Reads a rotator's own tags with zod; every problem names the tag as the
 * operator wrote it. Unknown tags are ignored (the policy holds everyone's).
 */
export function readTags<Shape extends z.ZodRawShape>(
  shape: Shape,
  tags: Readonly<Record<string, string>>,
): TagReading<z.infer<z.ZodObject<Shape>>> {
  const parsed = z.object(shape).safeParse(tags);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => ({ tag: String(issue.path[0] ?? '(tags)'), message: issue.message })),
  };
}

/** Problems of several readings together; `undefined` values when any failed. */
export function problemsOf(...readings: readonly TagReading<unknown>[]): readonly PolicyProblem[] {
  return readings.flatMap((r) => (r.ok ? [] : r.problems));
}
