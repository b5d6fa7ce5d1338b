import { expect } from 'vitest';

/**
 * Invariant I5 check: none of `values` appears in any of `haystacks` (log
 * lines, ledger blobs, queue message bodies, HTTP responses, notifications).
 * Values shorter than 8 characters are refused: they would match by chance and
 * make the check meaningless.
 */
export function expectNoSecretIn(haystacks: Iterable<string>, values: Iterable<string>): void {
  const needles = [...values];
  for (const needle of needles) {
    if (needle.length < 8) throw new Error('expectNoSecretIn needs values of at least 8 characters');
  }
  const leaks: string[] = [];
  let index = 0;
  for (const haystack of haystacks) {
    for (const needle of needles) {
      if (haystack.includes(needle)) leaks.push(`haystack #${index} contains a secret value (length ${needle.length})`);
    }
    index += 1;
  }
  expect(leaks, 'secret values leaked').toEqual([]);
}
