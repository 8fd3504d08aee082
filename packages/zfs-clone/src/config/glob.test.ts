import { describe, expect, it } from 'vitest';
import { matchesAny } from './glob.js';

describe('matchesAny', () => {
  it.each([
    ['refs/heads/release/1.2', ['refs/heads/release/*'], true],
    ['refs/heads/main', ['refs/heads/ma?n'], true],
    ['refs/heads/main2', ['refs/heads/main'], false],
    ['cache:a.b', ['cache:a?b'], true],
    ['cache:axb', ['cache:a.b'], false],
  ])('%s against %j is %s', (value, patterns, expected) => {
    expect(matchesAny(value, patterns)).toBe(expected);
  });
});
