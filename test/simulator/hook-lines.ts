/** Which of a hook process's output streams a line came from. */
export type HookStream = 'stdout' | 'stderr';

/** A wait for a line, armed with `HookLines.first`. */
export interface LineWait {
  /** The first matching line, once it has been read. */
  readonly line: Promise<string>;
  /** Stops waiting; `line` then never settles. */
  cancel(): void;
}

/**
 * The lines hook processes print, as the runner reads them. Pass `onOutput` as the runner's
 * `onOutput`; a test can then act on a line the moment it arrives, before the hook has gone much
 * further: e.g. SIGKILL the hook in the phase that line announces.
 */
export class HookLines {
  readonly #partial: Record<HookStream, string> = { stdout: '', stderr: '' };
  readonly #listeners = new Set<(line: string, stream: HookStream) => void>();

  /** Feeds a chunk of a hook process's output (the runner simulator's `onOutput`). */
  readonly onOutput = (chunk: string, stream: HookStream): void => {
    const lines = (this.#partial[stream] + chunk).split('\n');
    this.#partial[stream] = lines.pop() ?? '';
    for (const line of lines) for (const listener of [...this.#listeners]) listener(line, stream);
  };

  /**
   * Waits for the first line, on either stream, that matches `pattern`; `act` runs synchronously
   * with it, in the same turn as the chunk that carried it was read.
   */
  first(pattern: RegExp, act?: (line: string) => void): LineWait {
    let cancel = () => undefined as void;
    const line = new Promise<string>((resolve) => {
      const listener = (text: string) => {
        if (!pattern.test(text)) return;
        this.#listeners.delete(listener);
        act?.(text);
        resolve(text);
      };
      this.#listeners.add(listener);
      cancel = () => void this.#listeners.delete(listener);
    });
    return { line, cancel: () => cancel() };
  }

  /** Forgets an unfinished line (a process killed in the middle of writing one). */
  reset(): void {
    this.#partial.stdout = '';
    this.#partial.stderr = '';
  }
}
