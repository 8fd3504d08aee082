import { splitHint } from '@zfs-runner-hooks/vocabulary';
import { HookError } from '../errors.js';

/**
 * Collects what is wrong with a command's input while it is checked offline, so every problem is
 * reported at once, before the command's first request to the API server.
 */
export class InputProblems {
  readonly #errors: unknown[] = [];

  /** Runs a check; a problem it throws is kept and `undefined` returned. */
  check<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.#errors.push(err);
      return undefined;
    }
  }

  /** Like `check`, for a check that talks to nothing but takes a promise (a lazily loaded library). */
  async checkAsync(fn: () => Promise<void>): Promise<void> {
    await fn().catch((err: unknown) => this.#errors.push(err));
  }

  /**
   * Throws when a check failed: the one error as it is, or several as one `INPUT_INVALID` error
   * that lists each, with its hint on a line of its own, in the order found.
   */
  throwIfAny(command: string): void {
    const errors = this.#errors;
    if (errors.length === 0) return;
    if (errors.length === 1) throw errors[0];
    const list = errors.map((err, i) => `${i + 1}. ${item(err).replace(/\n/g, '\n   ')}`).join('\n');
    throw new HookError(
      'INPUT_INVALID',
      `${command} found ${errors.length} problems in its input and started nothing (fix them all, then re-run the job):\n${list}`,
      { cause: errors[0] },
    );
  }
}

/** An error's message, and its hint (when it has one the message does not hold) on the next line. */
function item(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const { message, hint } = splitHint(err as Error & { hint?: string });
  return hint ? `${message}\n${hint}` : message;
}
