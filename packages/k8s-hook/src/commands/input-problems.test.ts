import { describe, expect, it } from 'vitest';
import { HookError } from '../errors.js';
import { InputProblems } from './input-problems.js';

describe('InputProblems', () => {
  it('throws nothing when every check passed, and hands back what the checks returned', async () => {
    const p = new InputProblems();
    expect(p.check(() => 42)).toBe(42);
    await p.checkAsync(async () => undefined);
    expect(() => p.throwIfAny('prepare_job')).not.toThrow();
  });

  it('throws a single problem as it is', () => {
    const p = new InputProblems();
    const only = new HookError('OPTION_REFUSED', 'Options of the job container are not allowed', { hint: 'Remove them.' });
    expect(
      p.check(() => {
        throw only;
      }),
    ).toBeUndefined();
    expect(() => p.throwIfAny('prepare_job')).toThrow(only);
  });

  it('lists several problems in the order found, each hint on its own line, as one INPUT_INVALID error', async () => {
    const p = new InputProblems();
    p.check(() => {
      throw new HookError('INPUT_INVALID', 'Invalid ports of job container:\n  port "x": expected a number', { hint: 'Use the docker form.' });
    });
    await p.checkAsync(() => Promise.reject(new Error('Invalid ZFS clone configuration (1 problem)')));
    p.check(() => {
      throw new HookError('OPTION_REFUSED', 'Options refused', { hint: 'Remove them.' });
    });
    let thrown: unknown;
    try {
      p.throwIfAny('prepare_job');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'INPUT_INVALID', hint: undefined });
    expect((thrown as Error).message).toBe(
      'prepare_job found 3 problems in its input and started nothing (fix them all, then re-run the job):\n' +
        '1. Invalid ports of job container:\n     port "x": expected a number\n   Use the docker form.\n' +
        '2. Invalid ZFS clone configuration (1 problem)\n' +
        '3. Options refused\n   Remove them.',
    );
  });
});
