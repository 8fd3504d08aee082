import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90, '1m30s'],
    ['30m', 1800, '30m'],
    ['24h', 86_400, '1d'],
    ['7d', 604_800, '7d'],
    ['1h30m', 5400, '1h30m'],
  ])('reads %s as %i seconds and shows it as %s', (text, seconds, shown) => {
    expect(parseDuration(text)).toBe(seconds);
    expect(formatDuration(seconds)).toBe(shown);
  });

  it.each(['', '24', 'h', '1w', '-1h', '1.5h'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
