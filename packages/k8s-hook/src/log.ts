import * as core from '@actions/core';

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

/**
 * A logger over `@actions/core` workflow commands. With `debugAsInfo`, debug lines are printed as
 * plain lines (ZRH_LOG_LEVEL=debug); otherwise they show only with step debug logging.
 */
export function actionsLogger(debugAsInfo: boolean): Logger {
  return {
    info: (m) => core.info(m),
    warning: (m) => core.warning(m),
    error: (m) => core.error(m),
    debug: (m) => (debugAsInfo ? core.info(`[debug] ${m}`) : core.debug(m)),
    group: (name, fn) => core.group(name, fn),
    mask: (s) => core.setSecret(s),
  };
}
