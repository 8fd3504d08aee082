import { describe, expect, it } from 'vitest';
import { CancelledError, HookError, StepFailedError } from './errors.js';
import { exitCodeFor } from './main.js';
import { memoryLogger } from './testing/memory-logger.js';

describe('exitCodeFor', () => {
  it.each([
    ['a failed step exits with its own code', new StepFailedError(42, 'The step exited with code 42'), 42, 'The step exited with code 42'],
    ['SIGINT exits 130', new CancelledError('SIGINT'), 130, 'error: The hook was cancelled by SIGINT'],
    ['SIGTERM exits 143', new CancelledError('SIGTERM'), 143, 'error: The hook was cancelled by SIGTERM'],
    [
      'a hook error exits 1 with message and hint',
      new HookError('POD_FAILED', 'Job pod "p" failed', { hint: 'Check the image.' }),
      1,
      'error: Job pod "p" failed. Check the image.',
    ],
    [
      'a hook error whose message ends a sentence gets no second full stop',
      new HookError('POD_FAILED', 'Job pod "p" failed.', { hint: 'Check the image.' }),
      1,
      'error: Job pod "p" failed. Check the image.',
    ],
    ['anything else exits 1', new Error('socket hang up'), 1, 'error: socket hang up'],
  ])('%s', (_name, err, code, line) => {
    const log = memoryLogger();
    expect(exitCodeFor(err, log)).toBe(code);
    expect(log.lines).toEqual([line]);
  });
});
