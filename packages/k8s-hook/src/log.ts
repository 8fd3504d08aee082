/** Where the hook writes what users see: the runner's step log. */
export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  debug(message: string): void;
  /** Runs `fn` inside a collapsible log group. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Masks `secret` in all later log output. */
  mask(secret: string): void;
}

/** Escapes a workflow command's data exactly as `@actions/core` does. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A workflow command line: `::name::data`. */
export function workflowCommand(name: string, data: string): string {
  return `::${name}::${escapeData(data)}\n`;
}

/**
 * A logger that writes GitHub Actions workflow commands (`::group::`, `::error::`, `::debug::`,
 * `::add-mask::`), byte-compatible with `@actions/core`'s, to `out` (stdout). With `debugAsInfo`,
 * debug lines are printed as plain lines (ZRH_LOG_LEVEL=debug); otherwise the runner shows them
 * only with step debug logging. See docs/decisions/0008-logging-and-bundle.md for why not `@actions/core`.
 */
export function actionsLogger(debugAsInfo: boolean, out: { write(s: string): unknown } = process.stdout): Logger {
  return {
    info: (m) => out.write(`${m}\n`),
    warning: (m) => out.write(workflowCommand('warning', m)),
    error: (m) => out.write(workflowCommand('error', m)),
    debug: (m) => out.write(debugAsInfo ? `[debug] ${m}\n` : workflowCommand('debug', m)),
    async group(name, fn) {
      out.write(workflowCommand('group', name));
      try {
        return await fn();
      } finally {
        out.write('::endgroup::\n');
      }
    },
    mask: (s) => {
      if (s) out.write(workflowCommand('add-mask', s));
    },
  };
}
