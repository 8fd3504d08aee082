import { describe, expect, it } from 'vitest';
import { splitHint, withHint } from './hint.js';

describe('withHint', () => {
  it.each([
    ['Pod "p" failed', 'Check its events.', 'Pod "p" failed. Check its events.'],
    ['Cache "c" does not exist.', 'See `zfs-clone list`.', 'Cache "c" does not exist. See `zfs-clone list`.'],
    ['connect ECONNREFUSED', 'Check the server URL', 'connect ECONNREFUSED. Check the server URL'],
    ['Is it there?', 'Look again.', 'Is it there? Look again.'],
    ['No hint', undefined, 'No hint'],
    ['No hint', '', 'No hint'],
  ])('joins %j and %j', (message, hint, joined) => {
    expect(withHint(message, hint)).toBe(joined);
  });
});

describe('splitHint', () => {
  const hinted = (message: string, hint?: string) => Object.assign(new Error(withHint(message, hint)), { hint });

  it.each([
    ['Pod "p" failed', 'Check its events.'],
    ['connect ECONNREFUSED', 'Check the server URL'],
  ])('takes %j and its hint %j apart again', (message, hint) => {
    expect(splitHint(hinted(message, hint))).toEqual({ message, hint });
  });

  it('drops the full stop a message ended with', () => {
    expect(splitHint(hinted('Cache "c" does not exist.', 'See `zfs-clone list`.'))).toEqual({
      message: 'Cache "c" does not exist',
      hint: 'See `zfs-clone list`.',
    });
  });

  it('leaves a message alone that does not end with its hint', () => {
    expect(splitHint(hinted('No hint'))).toEqual({ message: 'No hint', hint: undefined });
    expect(splitHint(Object.assign(new Error('grew: more'), { hint: 'Do it' }))).toEqual({ message: 'grew: more', hint: undefined });
  });
});
