import { describe, expect, it } from 'vitest';
import { absoluteTime, relativeTime, shortDuration, table } from '../../../src/cli/render.js';

const now = new Date('2026-11-22T12:00:00.000Z');

describe('times', () => {
  it.each([
    ['2026-11-22T12:00:00.400Z', 'just now'],
    ['2026-11-22T11:59:15.000Z', '45s ago'],
    ['2026-11-22T11:00:00.000Z', '1h ago'],
    ['2026-11-20T13:00:00.000Z', '47h ago'],
    ['2026-11-19T12:00:00.000Z', '3d ago'],
    ['2026-11-22T12:10:00.000Z', 'in 10m'],
    ['not a time', '?'],
  ])('%s is %s', (iso, text) => {
    expect(relativeTime(iso, now)).toBe(text);
  });

  it.each([
    [120, '120ms'],
    [59_999, '59s'],
    [3_600_000, '1h'],
  ])('%i ms reads %s', (ms, text) => {
    expect(shortDuration(ms)).toBe(text);
  });

  it('absolute times are UTC to the second; text that is not a time passes through', () => {
    expect(absoluteTime('2026-11-22T13:04:05.678+01:00')).toBe('2026-11-22 12:04:05Z');
    expect(absoluteTime('yesterday')).toBe('yesterday');
  });
});

describe('table', () => {
  it('pads to the widest plain cell with the padding outside the colour, so columns line up with colour on', () => {
    const lines = table({ color: true, now }, ['A', 'STATUS', 'C'], [['x', { text: 'Completed', tint: 'green' }, 'end'], ['long-name', { text: 'Failed', tint: 'red' }, '']]);
    const plain = lines.map((l) => l.replaceAll(new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g'), ''));
    expect(plain).toEqual(['A          STATUS     C', 'x          Completed  end', 'long-name  Failed']);
    expect(lines[2]).toBe('long-name  \u001b[31mFailed\u001b[0m');
  });
});
